/**
 * The eased simulation: what percent a task shows at `now`, computed only
 * from stored timestamps (no timer ever writes to the store).
 *
 * The curve. Between real reports a running task eases toward a cap
 * (`SIMULATION_CAP`, 95) on an exponential ease-out from its anchor — the
 * percent it showed when its last event arrived:
 *
 *     shown(t) = A + (cap - A) · (1 - e^(-(t - tA) / τ))
 *
 * - With no real report yet, τ = `expectedMs`, so a fresh task shows
 *   95 · (1 - 1/e) ≈ 60% at `expectedMs` and then creeps toward 95%.
 *   (The exponential is memoryless: re-anchoring on a report keeps the pace.)
 * - Once the rate of real progress r (percent/ms, see eta.ts) is known,
 *   τ = (cap - A) / r, so the curve leaves the anchor at the observed rate
 *   and then slows, and it never passes the predicted real value
 *   (reported + r · time since the report). So at a steady rate, once the
 *   bar has met a report, shown ∈ [reported, reported + one report's step]
 *   (tested as a property); a lead left by the unpaced start is held, not
 *   grown, until the real work catches up.
 *
 * Rules (tested as properties): never decreasing for a given stored state;
 * re-anchoring takes max(shown, reported), so a new report never lowers it;
 * never below the last report; never 100 before completion, 100 from it on.
 *
 * A stalled task (no event for `stallAfterMs`: its worker may be gone) stops
 * easing where it stood then — the curve stands for work being done, and
 * nobody may be doing it. If its worker speaks again, it eases on from there
 * (`resumed`); if a new attempt starts instead, its bar starts again from 0.
 */
import type { StoredTask } from './model.ts';

export const SIMULATION_CAP = 95;

export interface SimulationOptions {
  /** Pace of a task that has no rate yet (its own `expectedMs` wins). */
  expectedMs: number;
  /** A running task with no event for this long is stalled: its curve stops there. */
  stallAfterMs: number;
}

export interface Shown {
  /** Shown percent, a float in 0..100 (the wire floors it). */
  percent: number;
  /** True while the shown percent runs ahead of the last real report. */
  simulated: boolean;
}

/** The percent a running task shows at `now` by the ease-out curve. */
export function easedPercent(task: StoredTask, at: number, options: SimulationOptions): number {
  if (task.anchorAt === null) return task.anchor;
  const now = Math.min(at, stalledAt(task, options));
  const from = task.anchor;
  if (from >= SIMULATION_CAP) return Math.max(from, task.reported);
  const elapsed = Math.max(0, now - task.anchorAt);
  const rate = task.progress?.rate ?? null;
  const tau = rate !== null && rate > 0 ? (SIMULATION_CAP - from) / rate : (task.expectedMs ?? options.expectedMs);
  const eased = from + (SIMULATION_CAP - from) * (1 - Math.exp(-elapsed / tau));
  if (rate === null || rate <= 0) return Math.max(eased, task.reported);
  // With a known rate, never run ahead of where the real work is predicted to
  // be; if an earlier unpaced stretch left the bar ahead, it holds until the
  // prediction catches up (max with the anchor keeps it monotonic).
  const predicted = task.reported + rate * Math.max(0, now - (task.progress?.at ?? task.anchorAt));
  return Math.max(from, Math.min(eased, predicted), task.reported);
}

/** When a running task goes stalled if nothing is heard from it (Infinity before its first event). */
export function stalledAt(task: StoredTask, options: SimulationOptions): number {
  return task.lastEventAt === null ? Number.POSITIVE_INFINITY : task.lastEventAt + options.stallAfterMs;
}

/**
 * A running task heard from again (`now`) after it stalled: its curve starts
 * again from where it stopped, instead of leaping to where it would have
 * eased had the worker never gone quiet.
 */
export function resumed(task: StoredTask, now: number, options: SimulationOptions): StoredTask {
  if (task.status !== 'running' || now < stalledAt(task, options)) return task;
  return { ...task, anchor: easedPercent(task, now, options), anchorAt: now };
}

/** What a task shows at `now`. Pure: the same task and `now` give the same answer. */
export function shownPercent(task: StoredTask, now: number, options: SimulationOptions): Shown {
  switch (task.status) {
    case 'pending':
      return { percent: 0, simulated: false };
    case 'running': {
      const percent = easedPercent(task, now, options);
      return { percent, simulated: Math.floor(percent) > Math.floor(task.reported) };
    }
    case 'complete':
      return { percent: 100, simulated: false };
    case 'error':
    case 'cancelled':
      return { percent: task.anchor, simulated: false };
    default:
      throw new Error(`unknown task status ${String((task as { status: unknown }).status)}`);
  }
}
