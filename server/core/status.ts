/**
 * The time rules, decided here and nowhere else: what a session's status is
 * at `now` (the cancel grace running out, the worker going silent), when the
 * clock alone would end it, when it ended, and how long the store keeps it.
 * Pure; `now` is a parameter, so callers pass their injected clock's reading.
 */
import { isTerminal } from '../../protocol/index.ts';
import type { StoredSession } from './model.ts';

export type Verdict = 'pending' | 'running' | 'complete' | 'error' | 'cancelled';

/**
 * The session's status at `now`. Events decide first (an error, a
 * `cancelled` event, every task complete); a session they have not ended is
 * ended by the clock at `endsByClockAt`, by whichever rule came first: the
 * cancel grace running out (`cancelled`) or the worker going silent
 * (`error`). An ended session's status never changes afterwards.
 */
export function sessionStatus(session: StoredSession, now: number): Verdict {
  if (session.error !== null || session.tasks.some((t) => t.status === 'error')) return 'error';
  if (session.cancelled) return 'cancelled';
  if (session.tasks.every((t) => t.status === 'complete')) return 'complete';
  if (now >= endsByClockAt(session)) return cancelGraceEndsAt(session) <= deadAt(session) ? 'cancelled' : 'error';
  // A session whose first task finished while the next waits is still under way.
  const started = session.tasks.some((t) => t.status !== 'pending');
  return started ? 'running' : 'pending';
}

/** No event at all for `deadAfterMs` on a session that has not ended. */
export function isDead(session: StoredSession, now: number): boolean {
  return now >= deadAt(session);
}

/** When the dead-worker rule fails the session unless an event comes first. */
export function deadAt(session: StoredSession): number {
  return session.lastEventAt + session.options.deadAfterMs;
}

/** When an unanswered cancel request ends the session; Infinity without one. */
export function cancelGraceEndsAt(session: StoredSession): number {
  return session.cancelRequested && session.cancelRequestedAt !== null
    ? session.cancelRequestedAt + session.options.cancelGraceMs
    : Number.POSITIVE_INFINITY;
}

/**
 * When the clock alone would end a session that has not ended: the earlier
 * of the cancel grace running out and the dead-worker rule. Any event or
 * write may move it, so whoever waits for it asks again after each write.
 */
export function endsByClockAt(session: StoredSession): number {
  return Math.min(deadAt(session), cancelGraceEndsAt(session));
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
  if (status === 'complete') return Math.max(...session.tasks.map((t) => t.completedAt ?? now));
  if (status === 'cancelled') return Math.min(cancelGraceEndsAt(session), now);
  return deadAt(session);
}

/**
 * How long the store keeps the session from its last change: `ttlSeconds`
 * once it has ended; while it has not, long enough for the dead-worker rule
 * to fail it and then `ttlSeconds` more, so viewers learn why.
 */
export function retentionMs(session: StoredSession, now: number): number {
  const ttl = session.ttlSeconds * 1000;
  if (isTerminal(sessionStatus(session, now))) {
    const ended = finishedAt(session, now) ?? now;
    return Math.max(ttl + ended - now, 1);
  }
  return session.options.deadAfterMs + ttl;
}

/** Whether the session has ended at `now` (its stream closes after this snapshot). */
export function isFinal(session: StoredSession, now: number): boolean {
  return isTerminal(sessionStatus(session, now));
}
