import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../../protocol/index.ts';
import { createSession, type StoredSession } from '../../../server/core/model.ts';
import { nextVisibleChangeAt } from '../../../server/core/next-change.ts';
import { applyEvents } from '../../../server/core/reducer.ts';
import { toSnapshot, visiblyDifferent } from '../../../server/core/snapshot.ts';
import { soakScale } from '../../support/soak.ts';

const T0 = 1_700_000_000_000;

/** Two tasks, one with its own pace, a short stall and dead-worker time so those deadlines are in play. */
const fresh = (expectedMs: number, stallAfterMs: number) =>
  createSession(
    's1',
    {
      tasks: [
        { id: 'a', name: 'A', expectedMs },
        { id: 'b', name: 'B' },
      ],
    },
    T0,
    { stallAfterMs, deadAfterMs: 600_000, expectedMs: 20_000 },
  );

/** A reporter: steps or percents (or heartbeats, retries) at increasing times on either task, maybe a cancel request. */
const history = fc.record({
  expectedMs: fc.integer({ min: 500, max: 120_000 }),
  stallAfterMs: fc.integer({ min: 1_000, max: 60_000 }),
  reports: fc.array(
    fc.record({
      gap: fc.integer({ min: 1, max: 30_000 }),
      task: fc.constantFrom('a', 'b'),
      done: fc.integer({ min: 0, max: 1_000 }),
      percent: fc.option(fc.double({ min: 0, max: 99, noNaN: true })),
      /** Now and then no progress: a heartbeat (a stalled task resumes) or a new attempt (its bar from 0). */
      kind: fc.constantFrom('report', 'report', 'report', 'heartbeat', 'retry'),
    }),
    { maxLength: 12 },
  ),
  cancel: fc.boolean(),
  /** When after the last report we look, and how far ahead we probe. */
  lookAfter: fc.integer({ min: 0, max: 900_000 }),
  probes: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 12 }),
});

type History = typeof history extends fc.Arbitrary<infer T> ? T : never;

function build({ expectedMs, stallAfterMs, reports, cancel }: History): {
  session: StoredSession;
  at: number;
} {
  let session = applyEvents(fresh(expectedMs, stallAfterMs), [{ type: 'start', task: 'a' }], T0);
  let at = T0;
  for (const r of reports) {
    at += r.gap;
    const event: ProgressEvent =
      r.kind === 'heartbeat'
        ? { type: 'heartbeat', task: r.task }
        : r.kind === 'retry'
          ? { type: 'retry', task: r.task, attempt: 2 }
          : r.percent === null
            ? { type: 'steps', task: r.task, done: r.done, total: 1_000 }
            : { type: 'percent', task: r.task, value: r.percent };
    session = applyEvents(session, [event], at);
  }
  if (cancel) session = { ...session, cancelRequested: true, cancelRequestedAt: at };
  return { session, at };
}

describe('the next visible change', () => {
  it('is never late: before it, the snapshot looks the same as now', () => {
    fc.assert(
      fc.property(history, (h) => {
        const { session, at } = build(h);
        const now = at + h.lookAfter;
        const next = nextVisibleChangeAt(session, now);
        const seen = toSnapshot(session, now);
        // Probe the whole interval (at most an hour of it when it is open-ended), and just before its end.
        const span = Number.isFinite(next) ? next - now : 3_600_000;
        const times = [...h.probes.map((p) => now + p * span), now + span - 0.5].filter((t) => t >= now && t < next);
        for (const t of times) {
          const later = toSnapshot(session, t);
          if (visiblyDifferent(seen, later)) {
            throw new Error(
              `changed at +${t - now} ms, announced at +${next - now} ms: ${JSON.stringify([seen, later])}`,
            );
          }
        }
      }),
      { numRuns: soakScale(2_000, 500) },
    );
  });

  it('is soon while a bar eases: the next whole percent, not the throttle', () => {
    const session = applyEvents(fresh(10_000, 30_000), [{ type: 'start', task: 'a' }], T0);
    const next = nextVisibleChangeAt(session, T0 + 1_000);
    expect(next - (T0 + 1_000)).toBeGreaterThan(0);
    expect(next - (T0 + 1_000)).toBeLessThan(1_000);
    expect(visiblyDifferent(toSnapshot(session, T0 + 1_000), toSnapshot(session, next + 2))).toBe(true);
  });

  it('is far off when a task reports steps too small to move its bar, its ETA in whole minutes', () => {
    let session = createSession('s2', { tasks: [{ id: 'b', name: 'B' }] }, T0, { stallAfterMs: 300_000 });
    session = applyEvents(session, [{ type: 'steps', task: 'b', done: 0, total: 1_000 }], T0);
    // 0.1% in 2 s: the bar moves a whole percent every ~20 s, the ETA (hours) by the minute.
    session = applyEvents(session, [{ type: 'steps', task: 'b', done: 1, total: 1_000 }], T0 + 2_000);
    const now = T0 + 2_000;
    const next = nextVisibleChangeAt(session, now);
    expect(next - now).toBeGreaterThan(10_000);
    expect(next - now).toBeLessThanOrEqual(60_000);
  });

  it('has nothing to wait for from a finished task, and nothing at all once the session has ended', () => {
    let session = applyEvents(fresh(10_000, 30_000), [{ type: 'start', task: 'a' }], T0);
    session = applyEvents(session, [{ type: 'complete', task: 'a' }], T0 + 1_000);
    // Task a is at 100 and stays there: only the overall ETA's next step is left.
    expect(nextVisibleChangeAt(session, T0 + 1_050)).toBeGreaterThan(T0 + 1_050);
    session = applyEvents(session, [{ type: 'complete', task: 'b' }], T0 + 2_000);
    expect(nextVisibleChangeAt(session, T0 + 2_000)).toBe(Number.POSITIVE_INFINITY);
  });

  it('has nothing to wait for once the clock ended a session, whose bars stay as they were then', () => {
    // Cancel requested, the reporter never confirms: cancelled when the grace runs out.
    let session = applyEvents(fresh(10_000, 30_000), [{ type: 'start', task: 'a' }], T0);
    session = { ...session, cancelRequested: true, cancelRequestedAt: T0 + 1_000 };
    const ended = T0 + 1_000 + session.options.cancelGraceMs;
    const atEnd = toSnapshot(session, ended);
    const later = toSnapshot(session, ended + 3_600_000);
    expect(atEnd.status).toBe('cancelled');
    expect(later.tasks.map((t) => t.percent)).toEqual(atEnd.tasks.map((t) => t.percent));
    expect(later.percent).toBe(atEnd.percent);
    expect(nextVisibleChangeAt(session, ended + 1)).toBe(Number.POSITIVE_INFINITY);
    // The worker went silent: failed at lastEventAt + deadAfterMs, bars as they were then.
    const silent = applyEvents(fresh(10_000, 30_000), [{ type: 'start', task: 'a' }], T0);
    const dead = T0 + silent.options.deadAfterMs;
    expect(toSnapshot(silent, dead + 60_000).tasks[0]).toMatchObject({
      status: 'error',
      percent: toSnapshot(silent, dead).tasks[0]!.percent,
    });
  });
});
