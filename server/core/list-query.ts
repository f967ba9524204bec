/**
 * Which sessions a list asks for (`GET /sessions?…` and its live stream):
 * one predicate, so a page and a stream of the same query agree on every
 * session. Pure; `now` is a parameter.
 */
import type { StoredSession } from './model.ts';
import { sessionStatus, type Verdict } from './status.ts';

/** A status a list filters by: a session's, or `retrying` (running a task again after a `retry`). */
export type ListedStatus = Verdict | 'retrying';

export const LISTED_STATUSES: readonly ListedStatus[] = [
  'pending',
  'running',
  'retrying',
  'complete',
  'error',
  'cancelled',
];

export interface ListQuery {
  /** Only this parent's children. */
  parent?: string | undefined;
  /** Only sessions with no parent (a batch's children are left to its parent's own list). */
  topLevel?: boolean | undefined;
  /** Only sessions with every one of these tags. */
  tags?: readonly { key: string; value: string }[] | undefined;
  /** Only sessions of this registered operation. */
  operation?: string | undefined;
  /** Only sessions in one of these statuses. */
  statuses?: readonly ListedStatus[] | undefined;
  /** Only sessions created at or after this time (ms since the epoch). */
  since?: number | undefined;
  /** Only sessions created before this time. */
  until?: number | undefined;
  /** Only sessions whose title contains this (any case). */
  q?: string | undefined;
  /** Only sessions for this end user. */
  subject?: string | undefined;
}

/** Whether the query asks for anything past the owner and the parent (which stores index). */
export function filters(query: ListQuery): boolean {
  return (
    query.topLevel === true ||
    (query.tags?.length ?? 0) > 0 ||
    query.operation !== undefined ||
    query.statuses !== undefined ||
    query.since !== undefined ||
    query.until !== undefined ||
    (query.q?.trim() ?? '') !== '' ||
    query.subject !== undefined
  );
}

/** Whether `session` is one the query lists at `now`. */
export function matches(session: StoredSession, query: ListQuery, now: number): boolean {
  if (query.parent !== undefined && session.parent !== query.parent) return false;
  if (query.topLevel === true && session.parent !== undefined) return false;
  if (query.subject !== undefined && session.subject !== query.subject) return false;
  if (query.operation !== undefined && session.operation?.name !== query.operation) return false;
  if (query.since !== undefined && session.createdAt < query.since) return false;
  if (query.until !== undefined && session.createdAt >= query.until) return false;
  if (query.tags?.some(({ key, value }) => session.tags?.[key] !== value)) return false;
  const words = query.q?.trim().toLowerCase();
  if (words && !session.title.toLowerCase().includes(words)) return false;
  if (query.statuses === undefined) return true;
  // A session running again after a retry is running too.
  const status = listedStatus(session, now);
  return query.statuses.includes(status) || (status === 'retrying' && query.statuses.includes('running'));
}

/** The status a list shows and filters by: `running` is `retrying` while a task runs again after a `retry`. */
export function listedStatus(session: StoredSession, now: number): ListedStatus {
  const status = sessionStatus(session, now);
  if (status === 'running' && session.tasks.some((t) => t.status === 'running' && t.attempt !== undefined)) {
    return 'retrying';
  }
  return status;
}
