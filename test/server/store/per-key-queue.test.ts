import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { PerKeyQueue } from '../../../server/store/per-key-queue.ts';

/** A piece of work that records when it starts and settles when the test says so. */
function job(name: string, started: string[]) {
  let settle!: { resolve: (value: string) => void; reject: (error: Error) => void };
  const done = new Promise<string>((resolve, reject) => {
    settle = { resolve, reject };
  });
  return {
    work: () => {
      started.push(name);
      return done;
    },
    finish: () => settle.resolve(name),
    fail: (message: string) => settle.reject(new Error(message)),
  };
}

describe('PerKeyQueue', () => {
  it('runs the work of one key one at a time, in the order it was queued', async () => {
    const queue = new PerKeyQueue();
    const started: string[] = [];
    const [one, two, three] = ['one', 'two', 'three'].map((name) => job(name, started));
    const results = [one!, two!, three!].map((j) => queue.run('a', j.work));
    await nextTurn();
    expect(started).toEqual(['one']);
    three!.finish(); // settled out of turn: still waits for those before it
    two!.finish();
    await nextTurn();
    expect(started).toEqual(['one']);
    one!.finish();
    await expect(Promise.all(results)).resolves.toEqual(['one', 'two', 'three']);
    expect(started).toEqual(['one', 'two', 'three']);
  });

  it('runs the work of different keys at the same time', async () => {
    const queue = new PerKeyQueue();
    const started: string[] = [];
    const a = job('a', started);
    const b = job('b', started);
    const ran = [queue.run('a', a.work), queue.run('b', b.work)];
    await nextTurn();
    expect(started).toEqual(['a', 'b']);
    b.finish();
    await expect(ran[1]).resolves.toBe('b');
    a.finish();
    await expect(ran[0]).resolves.toBe('a');
  });

  it('gives a failure to its own caller only; the next work of that key runs all the same', async () => {
    const queue = new PerKeyQueue();
    const started: string[] = [];
    const failing = job('failing', started);
    const failed = queue.run('a', failing.work);
    const throwing = queue.run('a', () => {
      throw new Error('thrown, not rejected');
    });
    const next = queue.run('a', async () => 'next');
    failing.fail('boom');
    await expect(failed).rejects.toThrow('boom');
    await expect(throwing).rejects.toThrow('thrown, not rejected');
    await expect(next).resolves.toBe('next');
  });

  it('forgets a key once its last work is done, so the map does not grow with keys', async () => {
    const queue = new PerKeyQueue();
    const started: string[] = [];
    const a = job('a', started);
    const ran = [queue.run('a', a.work), queue.run('a', async () => 'a2'), queue.run('b', async () => 'b')];
    expect(queue.size).toBe(2);
    await ran[2];
    await nextTurn();
    expect(queue.size).toBe(1); // b is done; a still has work
    a.fail('no');
    await Promise.allSettled(ran);
    await nextTurn();
    expect(queue.size).toBe(0);
    await Promise.all(Array.from({ length: 1_000 }, (_, i) => queue.run(`k${i}`, async () => i)));
    await nextTurn();
    expect(queue.size).toBe(0);
  });

  it('idle() waits for everything queued so far, failures included, and never rejects', async () => {
    const queue = new PerKeyQueue();
    await expect(queue.idle()).resolves.toBeUndefined(); // nothing queued
    const started: string[] = [];
    const a = job('a', started);
    const b = job('b', started);
    const failed = queue.run('a', a.work);
    const later = queue.run('a', async () => 'later');
    void queue.run('b', b.work);
    failed.catch(() => {});
    let idle = false;
    const waiting = queue.idle().then(() => {
      idle = true;
    });
    a.fail('no');
    await later;
    await nextTurn();
    expect(idle).toBe(false); // b still runs
    b.finish();
    await waiting;
    expect(idle).toBe(true);
  });
});
