/**
 * The time rules: what a session's status is at `now` (the ramp finishing,
 * the cancel grace running out, the worker going silent), when it ended, and
 * how long the store keeps it. Pure; `now` is a parameter.
 */
import { isTerminal } from '../protocol/index.ts';
import type { StoredSession, StoredTask } from './model.ts';

export type Verdict = 'pending' | 'running' | 'complete' | 'error' | 'cancelled';

/**
 * The session's status at `now`, with the time-based rules applied: the
 * ramp finishing, the cancel grace period running out, the worker going
 * silent. Precedence as in the contract: error, cancelled, complete, running,
 * pending.
 */
export function sessionStatus(session: StoredSession, now: number): Verdict {
  if (session.error !== null || session.tasks.some((t) => t.status === 'error')) return 'error';
  if (session.cancelled) return 'cancelled';
  if (session.cancelRequested && now - (session.cancelRequestedAt ?? now) >= session.options.cancelGraceMs) {
    return 'cancelled';
  }
  if (session.tasks.every((t) => isTaskComplete(t, now, session.options.rampMs))) return 'complete';
  if (isDead(session, now)) return 'error';
  // A session whose first task finished while the next waits is still under way.
  const started = session.tasks.some((t) => t.status !== 'pending');
  return started ? 'running' : 'pending';
}

function isTaskComplete(task: StoredTask, now: number, rampMs: number): boolean {
  return task.status === 'complete' || (task.status === 'completing' && now - (task.completedAt ?? now) >= rampMs);
}

/** No event at all for `deadAfterMs` on a session that has not ended. */
export function isDead(session: StoredSession, now: number): boolean {
  return now - session.lastEventAt >= session.options.deadAfterMs;
}

export function deadMessage(session: StoredSession): string {
  const minutes = Math.round(session.options.deadAfterMs / 60_000);
  const span = minutes >= 1 ? `${minutes} min` : `${Math.round(session.options.deadAfterMs / 1000)} s`;
  return session.startedAt === null
    ? `No worker started this operation within ${span}.`
    : `The worker was lost: no event for ${span}.`;
}

/** When the session ended, or null while it runs. */
export function finishedAt(session: StoredSession, now: number): number | null {
  const status = sessionStatus(session, now);
  if (status === 'pending' || status === 'running') return null;
  if (session.finishedAt !== null) return session.finishedAt;
  if (status === 'complete') {
    const ends = session.tasks.map((t) =>
      t.status === 'completing' ? (t.completedAt ?? now) + session.options.rampMs : (t.completedAt ?? now),
    );
    return Math.max(...ends);
  }
  if (status === 'cancelled') return (session.cancelRequestedAt ?? now) + session.options.cancelGraceMs;
  return session.lastEventAt + session.options.deadAfterMs;
}

/**
 * How long the store keeps the session from its last change: `ttlSeconds`
 * once it has ended; while it has not, long enough for the dead-worker rule
 * to fail it and then `ttlSeconds` more, so viewers learn why.
 */
export function retentionMs(session: StoredSession, now: number): number {
  const ttl = session.ttlSeconds * 1000;
  // A session whose last task just got `complete` is still ramping to 100 when
  // it is written; it has ended all the same, so it is kept `ttlSeconds` from
  // its end, not `deadAfterMs + ttlSeconds` from now.
  const settled = now + session.options.rampMs;
  if (isTerminal(sessionStatus(session, settled))) {
    const ended = finishedAt(session, settled) ?? now;
    return Math.max(ttl + ended - now, 1);
  }
  return session.options.deadAfterMs + ttl;
}

/** Whether the session has ended at `now` (its stream closes after this snapshot). */
export function isFinal(session: StoredSession, now: number): boolean {
  return isTerminal(sessionStatus(session, now));
}
