/**
 * A smoothed rate of real progress, and the time left it implies.
 *
 * Naive ETAs (the last interval's Δpercent/Δt) swing wildly when reports
 * arrive unevenly. Here the rate is an exponentially weighted average whose
 * weight grows with the time a sample covers: alpha = 1 - e^(-Δt / window).
 * A burst of reports a millisecond apart barely moves it (its weight is
 * ~Δt/window, so its contribution is ~Δpercent/window, bounded), while a long
 * silent gap counts for a lot. No estimate is given until the samples span
 * `MIN_SPAN_MS` and include progress: better none than a wild one.
 */

export interface ProgressRate {
  /** Last real percent seen, and when. */
  percent: number;
  at: number;
  /** When the first sample was taken. */
  since: number;
  /** Smoothed percent per millisecond, or null before two samples. */
  rate: number | null;
}

export const RATE_WINDOW_MS = 15_000;
export const MIN_SPAN_MS = 1_000;

/** Feeds one real observation (percent at time `at`) into the estimate. */
export function observe(previous: ProgressRate | null, percent: number, at: number): ProgressRate {
  if (previous === null) return { percent, at, since: at, rate: null };
  const dt = at - previous.at;
  if (dt <= 0) return { ...previous, percent: Math.max(previous.percent, percent) };
  const instant = Math.max(0, percent - previous.percent) / dt;
  // Bias correction: while the samples span less than the window, weigh by
  // Δt / span, which makes the estimate the time-weighted mean of all seen so
  // far instead of trusting the first interval.
  const alpha = Math.max(1 - Math.exp(-dt / RATE_WINDOW_MS), dt / (at - previous.since));
  const rate = previous.rate === null ? instant : previous.rate + alpha * (instant - previous.rate);
  return { percent: Math.max(previous.percent, percent), at, since: previous.since, rate };
}

/** Milliseconds left at `now`, or null while it cannot be estimated honestly. */
export function etaMs(estimate: ProgressRate | null, now: number): number | null {
  if (estimate === null || estimate.rate === null || estimate.rate <= 0) return null;
  if (estimate.at - estimate.since < MIN_SPAN_MS) return null;
  if (estimate.percent >= 100) return 0;
  const left = (100 - estimate.percent) / estimate.rate - Math.max(0, now - estimate.at);
  // Past its own estimate with no news: we don't know any more.
  return left > 0 ? quantise(left) : null;
}

/**
 * ETAs are shown to people, who read "about 40 s" or "about 5 min", and a
 * new value means a new stream line: round up to whole seconds under a
 * minute, 5 s under ten minutes, whole minutes beyond.
 */
export function quantise(ms: number): number {
  const step = ms < 60_000 ? 1_000 : ms < 600_000 ? 5_000 : 60_000;
  return Math.ceil(ms / step) * step;
}
