/**
 * Parents and children: a parent's rollup of its children, changed by one
 * child's move at a time (its status and whole percent before and after),
 * so a child's change costs the parent the same whatever how many children
 * it has. Pure; `now` is a parameter.
 *
 * The rollup keeps counts and the sum of the children's percents, not each
 * child: a child's own atomic update knows what it was before, and the
 * deltas add up in any order, so two children changing at once on two
 * instances need no coordination beyond the parent's own atomic update.
 */
import type { ChildCounts, ProgressEvent, SessionStatus } from '../../protocol/index.ts';
import { reportedOverall } from './aggregate.ts';
import type { ChildRollup, StoredSession } from './model.ts';
import { applyEvents } from './reducer.ts';
import { isFinal, sessionStatus } from './status.ts';

/** What the parent counts of one child: its status and whole percent. */
export interface ChildState {
  status: SessionStatus;
  percent: number;
}

/** A child as its parent counts it at `now` (its real reports, not the eased bar). */
export function childState(child: StoredSession, now: number): ChildState {
  const status = sessionStatus(child, now);
  const percent = status === 'complete' ? 100 : Math.min(99, Math.floor(reportedOverall(child)));
  return { status, percent };
}

/** Whether the parent would count the child differently. */
export function sameState(a: ChildState | null, b: ChildState): boolean {
  return a !== null && a.status === b.status && a.percent === b.percent;
}

/** The parent's percent: its children's summed over `max(expected, total)`, so the first to end is not the batch. */
export function rollupPercent(rollup: ChildRollup): number {
  const of = Math.max(rollup.expected, rollup.total, 1);
  return Math.min(100, rollup.sum / of);
}

/** The counts a snapshot shows. */
export function childCounts(rollup: ChildRollup): ChildCounts {
  const { expected, total, pending, running, complete, error, cancelled } = rollup;
  return { expected, total, pending, running, complete, error, cancelled };
}

/**
 * The parent once one child moved `from` (null: the child is new) `to`: its
 * counts, its tasks' bars (the rollup percent, so its ETA is the children's
 * pace), and its end once every expected child has ended — `error` if any
 * errored (saying how many), else `cancelled` if any was, else `complete`.
 * A parent that has ended already is returned unchanged.
 */
export function applyChildChange(
  parent: StoredSession,
  from: ChildState | null,
  to: ChildState,
  now: number,
): StoredSession {
  const before = parent.children;
  if (before === undefined || isFinal(parent, now)) return parent;
  if (sameState(from, to)) return parent;
  const rollup: ChildRollup = { ...before };
  if (from === null) rollup.total += 1;
  else {
    rollup[from.status] -= 1;
    rollup.sum -= from.percent;
  }
  rollup[to.status] += 1;
  rollup.sum += to.percent;
  const percent = rollupPercent(rollup);
  const open = parent.tasks.filter((t) => t.status === 'pending' || t.status === 'running');
  const events: ProgressEvent[] = [];
  // Until a child starts, the parent waits with them; then its bars follow theirs.
  if (rollup.pending < rollup.total || percent > 0) {
    for (const task of open) events.push({ type: 'percent', task: task.id, value: Math.min(percent, 99.99) });
  }
  const ended = rollup.complete + rollup.error + rollup.cancelled;
  if (ended >= rollup.expected && rollup.pending + rollup.running === 0) events.push(...endOf(rollup, open));
  const next = { ...parent, children: rollup };
  if (events.length === 0) return { ...next, version: parent.version + 1, updatedAt: now, lastEventAt: now };
  return applyEvents(next, events, now);
}

function endOf(rollup: ChildRollup, open: StoredSession['tasks']): ProgressEvent[] {
  if (rollup.error > 0) {
    const children = rollup.total === 1 ? 'child' : 'children';
    return [{ type: 'error', message: `${rollup.error} of ${rollup.total} ${children} failed` }];
  }
  if (rollup.cancelled > 0) return [{ type: 'cancelled' }];
  return open.map((task) => ({ type: 'complete', task: task.id }));
}
