import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { etaMs, observe, type ProgressRate } from '../../../server/core/eta.ts';

describe('the smoothed ETA', () => {
  it('is null until the samples span a second and show progress', () => {
    let e = observe(null, 0, 0);
    expect(etaMs(e, 0)).toBeNull();
    e = observe(e, 10, 500);
    expect(etaMs(e, 500)).toBeNull();
    e = observe(e, 20, 1_000);
    expect(etaMs(e, 1_000)).toBe(4_000); // 80% left at 0.02%/ms
  });

  it('stays within 35% of the truth at a constant true rate however unevenly reports arrive, where the naive one does not', () => {
    // True rate: 1% per `msPerPercent`; reports at random gaps (bursts and long silences).
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 2_000 }),
        fc.array(fc.integer({ min: 1, max: 4_000 }), { minLength: 60, maxLength: 120 }),
        (msPerPercent, gaps) => {
          let e: ProgressRate | null = null;
          let t = 0;
          let worst = 0;
          for (const [i, gap] of gaps.entries()) {
            t += gap;
            // Reporters report whole percents: the observed value lags the truth.
            const truth = Math.min(99, t / msPerPercent);
            e = observe(e, Math.floor(truth), t);
            if (i < 20 || truth > 90) continue;
            const eta = etaMs(e, t);
            const real = (100 - truth) * msPerPercent;
            if (eta !== null) worst = Math.max(worst, Math.abs(eta - real) / real);
          }
          expect(worst).toBeLessThan(0.35);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stays within 50% of the truth when reports come in bursts, where the naive one is off by more than 300%', () => {
    // 1% a second on average, reported as bursts of 5 quick reports then silence.
    let e: ProgressRate | null = null;
    // Relative error against the true time left (1 s per remaining percent).
    const smooth: number[] = [];
    const naive: number[] = [];
    const error = (eta: number, p: number) => Math.abs(eta - (100 - p) * 1_000) / ((100 - p) * 1_000);
    let t = 0;
    let p = 0;
    let prev = { p: 0, t: 0 };
    for (let burst = 0; burst < 12; burst++) {
      for (let k = 0; k < 5; k++) {
        t += k === 0 ? 4_800 : 50;
        p += 1;
        e = observe(e, p, t);
        const eta = etaMs(e, t);
        if (burst >= 3 && eta !== null) smooth.push(error(eta, p));
        if (burst >= 3) naive.push(error(((100 - p) * (t - prev.t)) / (p - prev.p), p));
        prev = { p, t };
      }
    }
    expect(Math.max(...smooth)).toBeLessThan(0.5);
    expect(Math.max(...naive)).toBeGreaterThan(3);
  });

  it('counts down between reports and gives up (null) once past its own estimate', () => {
    let e = observe(null, 0, 0);
    e = observe(e, 10, 1_000);
    e = observe(e, 20, 2_000);
    const at = etaMs(e, 2_000)!;
    expect(etaMs(e, 3_000)).toBe(at - 1_000); // whole seconds under a minute
    expect(etaMs(e, 2_000 + at + 1)).toBeNull();
  });
});
