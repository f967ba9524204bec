/**
 * The closing ramp, a view's: the server says a task is `complete` at 100
 * the moment it is, and a bar that jumps there from 45 reads as a glitch, so
 * the element and the text view ease it from where it stood to 100 over
 * `CLOSING_RAMP_MS` and say "complete" once it arrives. Pure: the time since
 * the completing line arrived is a parameter.
 */
import type { Snapshot, TaskSnapshot } from './wire.ts';

/** How long a view eases a completed bar to 100. */
export const CLOSING_RAMP_MS = 400;

/**
 * `after` as a view draws it `elapsedMs` after it arrived, when `before` was
 * on screen: each bar that `after` completed from below 100 (a task's, the
 * overall one) eased from its `before` percent toward 100, and said to be
 * `running` until it gets there. Null when nothing ramps (any more): draw
 * `after` itself.
 *
 * @example
 * const frame = closingFrame(shown, line, performance.now() - arrivedAt);
 * render(frame ?? line);
 */
export function closingFrame(
  before: Snapshot,
  after: Snapshot,
  elapsedMs: number,
  durationMs = CLOSING_RAMP_MS,
): Snapshot | null {
  if (before.id !== after.id || elapsedMs >= durationMs) return null;
  const share = easeOut(Math.max(0, elapsedMs) / durationMs);
  let ramping = false;
  const tasks = after.tasks.map((task): TaskSnapshot => {
    const was = before.tasks.find((t) => t.id === task.id);
    if (task.status !== 'complete' || was === undefined || was.status === 'complete' || was.percent >= 100) {
      return task;
    }
    ramping = true;
    return { ...task, status: 'running', percent: eased(was.percent, share) };
  });
  const overall = after.status === 'complete' && before.status !== 'complete' && before.percent < 100;
  if (!ramping && !overall) return null;
  return overall ? { ...after, tasks, status: 'running', percent: eased(before.percent, share) } : { ...after, tasks };
}

/** Fast at first, gentle on arrival (a cubic ease-out). */
const easeOut = (t: number): number => 1 - (1 - t) ** 3;

/** A whole percent on the way from `from` to 100, never 100 itself: that is for "complete". */
const eased = (from: number, share: number): number => Math.min(99, Math.floor(from + (100 - from) * share));
