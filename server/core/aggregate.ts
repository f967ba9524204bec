/**
 * The overall percent of a session from its tasks' percents (and its stages).
 */
import type { StoredSession } from './model.ts';

/**
 * The overall percent from per-task percents: the weighted mean, composed
 * with the stages when the session uses them (done stages count whole, the
 * active one by its tasks), so the overall bar never goes back when a new
 * stage resets the task bars.
 */
export function overallPercent(s: StoredSession, taskPercents: readonly number[]): number {
  const weights = s.tasks.reduce((sum, t) => sum + t.weight, 0);
  const mean = s.tasks.reduce((sum, t, i) => sum + t.weight * (taskPercents[i] ?? 0), 0) / weights;
  const active = s.stages.findIndex((stage) => stage.state === 'active');
  if (active === -1 || s.stages.length === 0) return mean;
  const doneBefore = s.stages.slice(0, active).length;
  return ((doneBefore + mean / 100) / s.stages.length) * 100;
}

/** The overall percent of real reports only (feeds the overall ETA). */
export function reportedOverall(s: StoredSession): number {
  return overallPercent(
    s,
    s.tasks.map((t) => (t.status === 'complete' ? 100 : t.reported)),
  );
}
