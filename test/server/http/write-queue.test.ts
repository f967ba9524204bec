/**
 * The Node transport's write queue (server/http/write-queue.ts) on its own:
 * every connection written once, in order, a slice at a time with the event
 * loop's other work in between; and that work first, but never for long.
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

  it('waits while other work keeps the event loop busy, but writes before that work is over', async () => {
    const queue = new WriteQueue();
    let busyTurns = 0;
    let busy = true;
    // Other work (a burst of requests, say): a turn of 1 ms, again and again, for 150 ms.
    const started = performance.now();
    const work = () => {
      spin(1);
      busyTurns += 1;
      if (performance.now() - started < 150) setImmediate(work);
      else busy = false;
    };
    setImmediate(work);
    let writtenWhileBusy: boolean | null = null;
    let turnsBeforeWrite = 0;
    const written = new Promise<void>((resolve) => {
      queue.add({
        write: () => {
          writtenWhileBusy = busy;
          turnsBeforeWrite = busyTurns;
          resolve();
        },
      });
    });
    await written;
    // It let some of that work go first, and did not wait for all of it.
    expect(turnsBeforeWrite).toBeGreaterThan(1);
    expect(writtenWhileBusy).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
  });
});
