/**
 * The time rules: what a session's status is at `now` (the cancel grace
 * running out, the worker going silent), when it ended, and
 * how long the store keeps it. Pure; `now` is a parameter.
 */
import { isTerminal } from '../../protocol/index.ts';
import type { StoredSession } from './model.ts';

export type Verdict = 'pending' | 'running' | 'complete' | 'error' | 'cancelled';

/**
 * The session's status at `now`, with the time-based rules applied: the
 * cancel grace period running out, the worker going silent. Precedence as in the contract: error, cancelled, complete, running,
 * pending.
 */
export function sessionStatus(session: StoredSession, now: number): Verdict {
  if (session.error !== null || session.tasks.some((t) => t.status === 'error')) return 'error';
  if (session.cancelled) return 'cancelled';
  if (session.cancelRequested && now - (session.cancelRequestedAt ?? now) >= session.options.cancelGraceMs) {
    return 'cancelled';
  }
  if (session.tasks.every((t) => t.status === 'complete')) return 'complete';
  if (isDead(session, now)) return 'error';
  // A session whose first task finished while the next waits is still under way.
  const started = session.tasks.some((t) => t.status !== 'pending');
  return started ? 'running' : 'pending';
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
  if (status === 'complete') return Math.max(...session.tasks.map((t) => t.completedAt ?? now));
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
