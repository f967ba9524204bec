/**
 * The run's randomness, all from one seed (pure-rand's xoroshiro128+), so a
 * failing run is repeated by passing its seed again: the faults' schedule
 * and the work are the same; what the processes do in between is timing.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export class Random {
  readonly #rng;

  constructor(seed: number) {
    this.#rng = xoroshiro128plus(seed);
  }

  /** A generator of its own for stream `n` of the same seed, so one part's draws (timed by the system) do not shift another's. */
  static stream(seed: number, n: number): Random {
    return new Random((seed + n * 0x9e3779b9) | 0);
  }

  /** A whole number from `min` to `max`, both included. */
  int(min: number, max: number): number {
    return uniformInt(this.#rng, min, max);
  }

  /** One of `items` (which must not be empty). */
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.int(0, 9_999) < p * 10_000;
  }
}
