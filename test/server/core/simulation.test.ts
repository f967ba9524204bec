import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../../protocol/index.ts';
import { createSession, type StoredSession } from '../../../server/core/model.ts';
import { applyEvents } from '../../../server/core/reducer.ts';
import { SIMULATION_CAP, shownPercent } from '../../../server/core/simulation.ts';
import { toSnapshot } from '../../../server/core/snapshot.ts';
import { soakScale } from '../../support/soak.ts';

const T0 = 1_700_000_000_000;
const fresh = (expectedMs?: number) =>
  createSession('s1', { tasks: [{ id: 'a', name: 'A', ...(expectedMs ? { expectedMs } : {}) }] }, T0, {
    deadAfterMs: 10 * 3600_000,
  });
const shown = (s: StoredSession, now: number) => shownPercent(s.tasks[0]!, now, s.options);

/** An arbitrary reporter: a run of percent reports at increasing times, maybe ending in complete. */
const reportRun = fc.record({
  reports: fc.array(
    fc.record({ gap: fc.integer({ min: 1, max: 20_000 }), value: fc.double({ min: 0, max: 100, noNaN: true }) }),
    {
      maxLength: 30,
    },
  ),
  completeAfter: fc.option(fc.integer({ min: 1, max: 20_000 })),
  probes: fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 1, maxLength: 20 }),
});

describe('the eased simulation', () => {
  it('shows about 60% at expectedMs when nothing is reported, then creeps toward 95% but no further', () => {
    const s = applyEvents(fresh(10_000), [{ type: 'start', task: 'a' }], T0);
    expect(shown(s, T0 + 10_000).percent).toBeGreaterThan(58);
    expect(shown(s, T0 + 10_000).percent).toBeLessThan(62);
    expect(shown(s, T0 + 60_000).percent).toBeGreaterThan(90);
    expect(shown(s, T0 + 3_600_000).percent).toBeLessThanOrEqual(SIMULATION_CAP);
    expect(toSnapshot(s, T0 + 10_000).tasks[0]).toMatchObject({ simulated: true, status: 'running' });
  });

  it('never decreases, never falls below the last report, and never shows 100 before completion', () => {
    fc.assert(
      fc.property(reportRun, ({ reports, completeAfter, probes }) => {
        let s = applyEvents(fresh(), [{ type: 'start', task: 'a' }], T0);
        let now = T0;
        let last = 0;
        const check = (at: number) => {
          const p = shown(s, at).percent;
          expect(p).toBeGreaterThanOrEqual(last - 1e-9);
          if (s.tasks[0]!.status === 'running') {
            expect(p).toBeGreaterThanOrEqual(s.tasks[0]!.reported - 1e-9);
            expect(p).toBeLessThan(100);
          }
          last = p;
        };
        for (const { gap, value } of reports) {
          for (const probe of probes.filter((x) => x < gap).sort((a, b) => a - b)) check(now + probe);
          now += gap;
          s = applyEvents(s, [{ type: 'percent', task: 'a', value }], now);
          check(now);
        }
        if (completeAfter !== null) {
          now += completeAfter;
          s = applyEvents(s, [{ type: 'complete', task: 'a' }], now);
          check(now);
          // The truth at once: the closing ramp to 100 is the view's.
          const done = toSnapshot(s, now);
          expect(done.tasks[0]).toMatchObject({ status: 'complete', percent: 100 });
          expect(done).toMatchObject({ status: 'complete', percent: 100, finishedAt: new Date(now).toISOString() });
        }
      }),
    );
  });

  it('stays within one report of the reported value when reports arrive at a steady rate', () => {
    // Steady: `step` percent every `interval` ms. Once the bar has met a report
    // (the unpaced start may have put it ahead), shown ∈ [reported, reported + step].
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 5_000 }),
        fc.double({ min: 0.2, max: 5, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 5 }),
        (interval, step, fractions) => {
          let s = applyEvents(fresh(), [{ type: 'start', task: 'a' }], T0);
          let reported = 0;
          let met = false;
          for (let i = 1; reported + step < 90; i++) {
            reported += step;
            s = applyEvents(s, [{ type: 'percent', task: 'a', value: reported }], T0 + i * interval);
            if (s.tasks[0]!.anchor > reported + 1e-9 && !met) continue;
            met = true;
            for (const f of fractions) {
              const p = shown(s, T0 + i * interval + f * interval).percent;
              expect(p).toBeGreaterThanOrEqual(reported - 1e-9);
              expect(p).toBeLessThanOrEqual(reported + step + 0.05);
            }
          }
          expect(met).toBe(true);
        },
      ),
      { numRuns: soakScale(100, 30) },
    );
  });

  it('says simulated only while the shown percent runs ahead of the last report', () => {
    let s = applyEvents(fresh(), [{ type: 'percent', task: 'a', value: 40 }], T0);
    expect(toSnapshot(s, T0).tasks[0]).toMatchObject({ percent: 40, simulated: false });
    expect(toSnapshot(s, T0 + 20_000).tasks[0]!.simulated).toBe(true);
    s = applyEvents(s, [{ type: 'percent', task: 'a', value: 90 }], T0 + 20_000);
    expect(toSnapshot(s, T0 + 20_000).tasks[0]).toMatchObject({ percent: 90, simulated: false });
  });

  it('holds a report of 100 below 100 until the task completes', () => {
    const s = applyEvents(fresh(), [{ type: 'percent', task: 'a', value: 100 }], T0);
    expect(toSnapshot(s, T0 + 60_000).tasks[0]!.percent).toBe(99);
    expect(toSnapshot(s, T0 + 60_000).status).toBe('running');
  });

  it('stops easing a task once it is stalled (its worker silent), and eases on from there when heard again', () => {
    // A worker reporting 17 of 100 rows a second apart, then killed.
    let s = applyEvents(fresh(), [{ type: 'start', task: 'a' }], T0);
    for (let i = 1; i <= 17; i++)
      s = applyEvents(s, [{ type: 'steps', task: 'a', done: i, total: 100 }], T0 + i * 1_000);
    const killed = T0 + 17_000;
    const stalled = killed + s.options.stallAfterMs;
    const atStall = toSnapshot(s, stalled);
    expect(atStall.tasks[0]).toMatchObject({ stalled: true, etaMs: null });
    expect(atStall.etaMs).toBeNull();
    // A minute later, with nobody working, the bar stands where it stood when the task stalled.
    for (const later of [stalled + 1_000, stalled + 60_000, stalled + 300_000]) {
      expect(toSnapshot(s, later).tasks[0]!.percent).toBe(atStall.tasks[0]!.percent);
      expect(toSnapshot(s, later).percent).toBe(atStall.percent);
    }
    expect(atStall.tasks[0]!.percent).toBeLessThan(60);
    // A heartbeat after ten minutes' silence: on from where it stopped, not a leap to where it would have eased.
    const heard = stalled + 600_000 - 1;
    s = applyEvents(s, [{ type: 'heartbeat', task: 'a' }], heard);
    expect(shown(s, heard).percent).toBeCloseTo(shown(s, stalled).percent, 9);
    expect(shown(s, heard + 1_000).percent).toBeGreaterThan(shown(s, heard).percent);
    expect(shown(s, heard + 1_000).percent).toBeLessThan(shown(s, heard).percent + 2);
  });

  it('starts the bar, the count and the ETA again on a new attempt, which says "Retrying (2 of 3)"', () => {
    let s = applyEvents(fresh(), [{ type: 'start', task: 'a' }], T0);
    for (let i = 1; i <= 60; i++) s = applyEvents(s, [{ type: 'steps', task: 'a', done: i, total: 100 }], T0 + i * 500);
    const before = toSnapshot(s, T0 + 30_000);
    expect(before.tasks[0]).toMatchObject({ percent: 60, done: 60, total: 100 });
    expect(before.etaMs).not.toBeNull();
    const retried = T0 + 40_000;
    s = applyEvents(s, [{ type: 'retry', task: 'a', attempt: 2, message: 'Retrying (2 of 3)' }], retried);
    const after = toSnapshot(s, retried);
    expect(after.tasks[0]).toMatchObject({
      status: 'running',
      percent: 0,
      attempt: 2,
      message: 'Retrying (2 of 3)',
      etaMs: null,
      stalled: false,
    });
    expect(after.tasks[0]!.done).toBeUndefined();
    expect(after.percent).toBe(0);
    expect(after.etaMs).toBeNull();
    // Within the attempt the bar never goes back again, and its ETA is its own.
    for (let i = 1; i <= 10; i++)
      s = applyEvents(s, [{ type: 'steps', task: 'a', done: i, total: 100 }], retried + i * 500);
    const going = toSnapshot(s, retried + 5_000);
    expect(going.tasks[0]).toMatchObject({ percent: 10, done: 10 });
    // 10% in 5 s: about 45 s left, not what attempt 1's 60% implied.
    expect(going.etaMs).toBeGreaterThan(40_000);
    expect(going.etaMs).toBeLessThanOrEqual(46_000);
  });

  it('resets the stage bar to 0 on a new stage while the overall bar keeps going up', () => {
    const events: ProgressEvent[] = [
      { type: 'stage', name: 'Load' },
      { type: 'percent', task: 'a', value: 80 },
    ];
    let s = createSession('s', { tasks: { a: 'A' }, stages: ['Load', 'Process'] }, T0);
    s = applyEvents(s, events, T0);
    const before = toSnapshot(s, T0 + 1);
    s = applyEvents(s, [{ type: 'stage', name: 'Process' }], T0 + 2);
    const after = toSnapshot(s, T0 + 2);
    expect(before.tasks[0]!.percent).toBe(80);
    expect(after.tasks[0]!.percent).toBe(0);
    expect(after.percent).toBeGreaterThanOrEqual(before.percent);
    expect(after.stages).toEqual([
      { name: 'Load', state: 'done' },
      { name: 'Process', state: 'active' },
    ]);
  });
});
