/**
 * When a session's snapshot can next look different with no new event, so a
 * watcher can sleep until then instead of recomputing it at the throttle's
 * rate. Without it every running session was snapshotted ten times a second
 * to find, most of the time, nothing a viewer could see: with 200 running
 * sessions that was about 10% of a core, a third of a burst's cost per line.
 *
 * The answer is a lower bound: waking early costs one snapshot that turns
 * out unchanged (the watcher then asks again); waking late would freeze a
 * bar, so every rounding here errs early. Pure.
 */
import { isTerminal } from '../../protocol/index.ts';
import { etaMs, type ProgressRate } from './eta.ts';
import type { StoredSession, StoredTask } from './model.ts';
import { easedPercent, SIMULATION_CAP, type SimulationOptions, stalledAt } from './simulation.ts';
import { endsByClockAt, sessionStatus } from './status.ts';

/** Float rounding in the inverse curves: wake this much before the computed instant. */
const EARLY_MS = 1;
/** How close to the simulation's cap counts as reaching it (see nextWholePercentAt). */
const CAP_GAP = 1e-12;
/** 2^50 ms: below it a double resolves a quarter of a millisecond or finer. */
const HUGE_MS = 2 ** 50;

/**
 * The earliest instant after `now` at which `toSnapshot(session, t)` may be
 * visibly different from `toSnapshot(session, now)` (see `visiblyDifferent`),
 * or `now` while it may change at any moment, or Infinity if only an event
 * can change it.
 */
export function nextVisibleChangeAt(session: StoredSession, now: number): number {
  const status = sessionStatus(session, now);
  if (isTerminal(status)) return Number.POSITIVE_INFINITY;
  const o = session.options;
  // The dead-worker rule and the end of the cancel grace change the status.
  let next = endsByClockAt(session);
  if (status !== 'running') return next;
  next = Math.min(next, etaChangeAt(session.progress, now));
  for (const task of session.tasks) {
    if (task.status !== 'running') continue;
    if (task.lastEventAt !== null && now - task.lastEventAt < o.stallAfterMs) {
      next = Math.min(next, task.lastEventAt + o.stallAfterMs);
    }
    next = Math.min(next, etaChangeAt(task.progress, now), nextWholePercentAt(task, now, o));
  }
  return next;
}

/** When a quantised ETA (eta.ts) next takes another value; Infinity if it cannot. */
export function etaChangeAt(estimate: ProgressRate | null, now: number): number {
  const eta = etaMs(estimate, now);
  // Null stays null and 0 stays 0 until an event: what makes them depends on events only.
  if (eta === null || eta === 0 || estimate === null || estimate.rate === null) return Number.POSITIVE_INFINITY;
  if (now < estimate.at) return estimate.at; // the countdown has not started
  const left = (100 - estimate.percent) / estimate.rate - (now - estimate.at);
  // Past ~35,000 years a double's step exceeds a millisecond and the value
  // moves with its rounding: ask again at the throttle's rate, as before.
  if (left >= HUGE_MS) return now;
  // The value holds while the time left stays above the step below it. The
  // smaller step at a boundary (exactly 60 s or 10 min left) errs early.
  const step = left <= 60_000 ? 1_000 : left <= 600_000 ? 5_000 : 60_000;
  return now + (left - (eta - step)) - EARLY_MS;
}

/** When a running task's shown percent reaches its next whole number; Infinity if it cannot. */
export function nextWholePercentAt(task: StoredTask, now: number, options: SimulationOptions): number {
  const whole = Math.floor(easedPercent(task, now, options));
  // The wire caps a task at 99 until it completes, and the curve stays below its cap.
  const target = whole + 1;
  if (whole >= 99 || task.anchorAt === null || task.anchor >= SIMULATION_CAP || target > SIMULATION_CAP) {
    return Number.POSITIVE_INFINITY;
  }
  const from = task.anchor;
  const rate = task.progress?.rate ?? null;
  const tau = rate !== null && rate > 0 ? (SIMULATION_CAP - from) / rate : (task.expectedMs ?? options.expectedMs);
  // The ease-out curve (simulation.ts) solved for `target`. The cap itself is
  // reached only in floating point, once what is left of the way rounds away:
  // a gap of 1e-12 errs early (a double at 95 rounds gaps under ~7e-15).
  const share =
    target === SIMULATION_CAP ? 1 - CAP_GAP / (SIMULATION_CAP - from) : (target - from) / (SIMULATION_CAP - from);
  const eased = task.anchorAt - tau * Math.log(1 - share);
  // With a rate, the bar also waits for the predicted real value to get there.
  const at =
    rate === null || rate <= 0
      ? eased
      : Math.max(eased, (task.progress?.at ?? task.anchorAt) + (target - task.reported) / rate);
  // A stalled task's curve stops (simulation.ts): a percent it would reach later, it never reaches.
  return at < stalledAt(task, options) ? at - EARLY_MS : Number.POSITIVE_INFINITY;
}
