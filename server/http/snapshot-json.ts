/**
 * A session's snapshot as the JSON the routes answer with. One that cannot be
 * snapshotted or encoded (written past the limits by an older version) must
 * not take a request, a stream or the process down with it: it is served as
 * an error, and logged once.
 */
import type { StoredSession } from '../core/model.ts';
import { type SnapshotCursor, toSnapshot, unservableSnapshot } from '../core/snapshot.ts';

/** Sessions already logged as unservable: once each, not once per viewer or tick. */
const reported = new Set<string>();

export function reportUnservable(id: string, error: unknown): void {
  if (reported.has(id)) return;
  if (reported.size >= 10_000) reported.clear();
  reported.add(id);
  console.error(`liveop: session ${id} cannot be served (its stored data breaks the limits); serving an error`, error);
}

/** The session's snapshot as JSON; an error snapshot in its place when it cannot be made. */
export function snapshotJson(session: StoredSession, now: number, cursor?: SnapshotCursor, extra?: object): string {
  try {
    return JSON.stringify(extra ? { ...toSnapshot(session, now, cursor), ...extra } : toSnapshot(session, now, cursor));
  } catch (error) {
    reportUnservable(session.id, error);
    return JSON.stringify(extra ? { ...unservableSnapshot(session), ...extra } : unservableSnapshot(session));
  }
}
