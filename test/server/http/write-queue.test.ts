/**
 * The Node transport's write queue (server/http/write-queue.ts) on its own:
 * every connection written once, in order, a slice at a time with the event
 * loop's other work in between.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { WriteQueue } from '../../../server/http/write-queue.ts';

const spin = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: the event loop's other work
  }
};

describe('the write queue', () => {
  it('writes every connection once, in order, and lets a timer in between slices', async () => {
    const queue = new WriteQueue();
    const written: number[] = [];
    let timerFiredAfter = -1;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const count = 4_000;
    for (let i = 0; i < count; i++) {
      queue.add({
        write: () => {
          spin(0.01); // 40 ms in all: more than one slice
          written.push(i);
          if (written.length === count) done();
        },
      });
    }
    setTimeout(() => {
      timerFiredAfter = written.length;
    }, 0);
    await finished;
    expect(written).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(timerFiredAfter).toBeGreaterThan(0);
    expect(timerFiredAfter).toBeLessThan(count);
  });
});
