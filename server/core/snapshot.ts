/**
 * From a stored session to what viewers see at `now`: the aggregate status,
 * the eased percents, stalled flags, ETAs and the log lines a viewer has not
 * yet received. Pure.
 */

import type { LogEntry, SessionStatus, Snapshot, TaskSnapshot, TaskStatus } from '../../protocol/index.ts';
import { overallPercent } from './aggregate.ts';
import { etaMs } from './eta.ts';
import type { StoredSession, StoredTask } from './model.ts';
import { outputsFor } from './outputs.ts';
import { childCounts } from './rollup.ts';
import { shownPercent } from './simulation.ts';
import { deadMessage, finishedAt, isDead, retentionMs, sessionStatus } from './status.ts';

export interface SnapshotCursor {
  /** Only log lines with a greater seq are included (0: the whole retained tail). */
  logAfter?: number;
  /** Each output stream's end as the viewer holds it: only text past it is included (left out: all retained). */
  outputAfter?: Readonly<Record<string, number>>;
}

/** The latest instant a Date can hold: a stored time past it (or not a number) is shown as this. */
const MAX_TIME = 8.64e15;

/** ISO time; never throws, so a session stored with absurd times (by an older version) is still served. */
function iso(ms: number): string;
function iso(ms: number | null): string | null;
function iso(ms: number | null): string | null {
  if (ms === null) return null;
  const safe = Number.isFinite(ms) ? Math.max(-MAX_TIME, Math.min(MAX_TIME, ms)) : MAX_TIME;
  return new Date(safe).toISOString();
}

export function toSnapshot(session: StoredSession, now: number, cursor: SnapshotCursor = {}): Snapshot {
  const status = sessionStatus(session, now);
  const dead = status === 'error' && session.error === null && isDead(session, now);
  const graceCancelled = status === 'cancelled' && !session.cancelled;
  const finished = finishedAt(session, now);
  // A session the clock ended (its cancel grace ran out, its worker went
  // silent) shows its bars as they were then, not still easing afterwards.
  const shownAt = (dead || graceCancelled) && finished !== null ? Math.min(now, finished) : now;
  const shown = session.tasks.map((t) => shownPercent(t, shownAt, session.options));
  const tasks = session.tasks.map((task, i) =>
    taskSnapshot(task, shown[i]!.percent, shown[i]!.simulated, status, dead, graceCancelled, session, now),
  );
  const percent =
    status === 'complete'
      ? 100
      : Math.min(
          99,
          Math.floor(
            overallPercent(
              session,
              tasks.map((t) => t.percent),
            ),
          ),
        );
  // Every task under way has gone quiet: nobody may be working, so no time left is promised.
  const silent = tasks.some((t) => t.stalled) && !tasks.some((t) => t.status === 'running' && !t.stalled);
  const logAfter = cursor.logAfter ?? 0;
  const outputs = outputsFor(session, cursor.outputAfter);
  return {
    type: 'snapshot',
    id: session.id,
    version: session.version,
    title: session.title,
    status,
    percent,
    etaMs: status === 'running' && !silent ? etaMs(session.progress, now) : status === 'complete' ? 0 : null,
    tasks,
    stages: session.stages.map((stage) => ({
      name: stage.name,
      state:
        stage.state === 'active' && (status === 'error' || status === 'cancelled')
          ? status === 'error'
            ? 'failed'
            : 'cancelled'
          : stage.state === 'active' && status === 'complete'
            ? 'done'
            : stage.state,
    })),
    message: dead ? { text: deadMessage(session), level: 'error' } : session.message,
    logs: logsAfter(session, logAfter),
    logSeq: session.logSeq,
    ...(outputs === undefined ? {} : { outputs }),
    result: session.result ?? null,
    artifacts: session.artifacts,
    error: dead ? { message: deadMessage(session) } : session.error,
    cancelRequested: session.cancelRequested,
    next: session.next,
    ...(session.queuePosition !== undefined && status === 'pending' ? { queuePosition: session.queuePosition } : {}),
    ...(session.tags === undefined ? {} : { tags: session.tags }),
    ...(session.parent === undefined ? {} : { parent: session.parent }),
    ...(session.children === undefined ? {} : { children: childCounts(session.children) }),
    createdAt: iso(session.createdAt),
    startedAt: iso(session.startedAt),
    finishedAt: iso(finished),
    expiresAt: iso(session.updatedAt + retentionMs(session, session.updatedAt)),
  };
}

function taskSnapshot(
  task: StoredTask,
  shown: number,
  simulated: boolean,
  sessionState: SessionStatus,
  dead: boolean,
  graceCancelled: boolean,
  session: StoredSession,
  now: number,
): TaskSnapshot {
  let status: TaskStatus = task.status;
  // Time-based verdicts reach the tasks that were still going.
  if (status === 'running' && dead) status = 'error';
  if ((status === 'running' || status === 'pending') && graceCancelled) status = 'cancelled';
  const running = status === 'running' && sessionState === 'running';
  const idleMs = task.lastEventAt === null ? 0 : now - task.lastEventAt;
  const stalled = running && task.status === 'running' && idleMs >= session.options.stallAfterMs;
  const snapshot: TaskSnapshot = {
    id: task.id,
    name: task.name,
    status,
    percent: status === 'complete' ? 100 : Math.min(99, Math.floor(shown)),
    simulated: running && simulated,
    stalled,
    etaMs: status === 'complete' ? 0 : running && !stalled ? etaMs(task.progress, now) : null,
  };
  if (task.message !== undefined) snapshot.message = task.message;
  if (task.level !== undefined) snapshot.level = task.level;
  if (dead && status === 'error') {
    snapshot.message = deadMessage(session);
    snapshot.level = 'error';
  }
  if (task.done !== undefined) snapshot.done = task.done;
  if (task.total !== undefined) snapshot.total = task.total;
  if (task.unit !== undefined) snapshot.unit = task.unit;
  if (task.attempt !== undefined) snapshot.attempt = task.attempt;
  if (stalled) snapshot.idleMs = idleMs;
  return snapshot;
}

/** Retained log lines after a cursor, in seq order, on the wire. */
export function logsAfter(session: StoredSession, logAfter: number): LogEntry[] {
  const logs = session.logs;
  if (logs.length === 0 || logs[logs.length - 1]!.seq <= logAfter) return [];
  // Lines are in seq order: find the first one after the cursor from the end.
  let start = logs.length;
  while (start > 0 && logs[start - 1]!.seq > logAfter) start -= 1;
  return logs
    .slice(start)
    .map((l) =>
      l.data === undefined
        ? { seq: l.seq, at: iso(l.at), line: l.line }
        : { seq: l.seq, at: iso(l.at), line: l.line, data: l.data },
    );
}

/** The log cursor a client has after receiving `version` (each log line records its version). */
export function logSeqAtVersion(session: StoredSession, version: number): number {
  let seq = 0;
  for (const log of session.logs) {
    if (log.v > version) break;
    seq = log.seq;
  }
  // Lines older than the retained tail were all before the oldest retained one.
  if (seq === 0 && session.logs.length > 0 && session.logs[0]!.v > version) return session.logs[0]!.seq - 1;
  return seq;
}

/**
 * What viewers are shown of a session whose stored data cannot be
 * snapshotted or encoded (written past the limits by an older version): an
 * error, with only the fields that are always safe. Never throws.
 */
export function unservableSnapshot(session: StoredSession): Snapshot {
  const text = 'This session holds data the server cannot send; it is shown without it.';
  const str = (value: unknown, fallback: string) => (typeof value === 'string' ? value.slice(0, 500) : fallback);
  const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  return {
    type: 'snapshot',
    id: str(session.id, ''),
    version: num(session.version),
    title: str(session.title, ''),
    status: 'error',
    percent: 0,
    etaMs: null,
    tasks: [],
    stages: [],
    message: { text, level: 'error' },
    logs: [],
    logSeq: num(session.logSeq),
    result: null,
    artifacts: [],
    error: { message: text },
    cancelRequested: session.cancelRequested === true,
    next: null,
    createdAt: iso(num(session.createdAt)),
    startedAt: null,
    finishedAt: null,
    expiresAt: iso(num(session.updatedAt)),
  };
}

/** Lines differ in what a viewer can see (ignoring logs, which are compared apart). */
export function visiblyDifferent(a: Snapshot, b: Snapshot): boolean {
  if (a.version !== b.version || a.status !== b.status || a.percent !== b.percent || a.etaMs !== b.etaMs) return true;
  if (a.tasks.length !== b.tasks.length) return true;
  for (let i = 0; i < a.tasks.length; i++) {
    const x = a.tasks[i]!;
    const y = b.tasks[i]!;
    if (x.percent !== y.percent || x.status !== y.status || x.stalled !== y.stalled || x.simulated !== y.simulated) {
      return true;
    }
    if (x.etaMs !== y.etaMs) return true;
  }
  return a.stages.some((s, i) => s.state !== b.stages[i]?.state) || a.finishedAt !== b.finishedAt;
}
