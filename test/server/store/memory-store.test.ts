import { describe, expect, it } from 'vitest';
import { createSession } from '../../../server/core/model.ts';
import { applyEvents } from '../../../server/core/reducer.ts';
import { MemorySessionStore } from '../../../server/store/memory-store.ts';
import { SessionNotFound } from '../../../server/store/session-store.ts';
import { manualClock } from '../../support/clock.ts';
import { storeContract } from './contract.ts';

storeContract('memory', async (options) => new MemorySessionStore({ sweepIntervalMs: 200, ...options }));

describe('the memory store', () => {
  it('forgets a session when its own clock says, whatever the wall clock says', async () => {
    const clock = manualClock();
    const store = new MemorySessionStore({ now: clock.now });
    const ended = applyEvents(
      createSession('s1', { tasks: { a: 'A' }, ttlSeconds: 60 }, clock.now()),
      [{ type: 'cancelled' }],
      clock.now(),
    );
    await store.create(ended);
    clock.advance(59_999);
    expect(await store.get('s1')).toBeDefined();
    clock.advance(1);
    expect(await store.get('s1')).toBeUndefined();
    expect((await store.list({ limit: 10 })).sessions).toEqual([]);
    await expect(store.update('s1', (s) => s)).rejects.toBeInstanceOf(SessionNotFound);
    await store.close();
  });

  it('gives the memory of 10,000 expired sessions back without anyone reading them', async () => {
    expect(globalThis.gc, 'run with --expose-gc (vite.config.ts sets it)').toBeTypeOf('function');
    const clock = manualClock();
    const store = new MemorySessionStore({ sweepIntervalMs: 50, now: clock.now });
    const heap = () => {
      globalThis.gc?.();
      return process.memoryUsage().heapUsed;
    };
    const before = heap();
    const now = clock.now();
    for (let i = 0; i < 10_000; i++) {
      const s = createSession(
        `s${i}`,
        { tasks: { a: 'A' }, ttlSeconds: 60, deadAfterMs: 1_000, title: 'x'.repeat(200) },
        now,
      );
      await store.create(s);
    }
    const full = heap();
    expect(full - before).toBeGreaterThan(5_000_000);
    // Not terminal: kept for deadAfterMs + ttlSeconds = 61 s on the store's clock, then swept. (Long
    // enough that Keyv's own wall-clock expiry, a backstop, cannot act first on a slow machine.)
    clock.advance(60_900);
    expect((await store.list({ limit: 20_000 })).sessions).toHaveLength(10_000);
    clock.advance(100);
    await expect.poll(() => store.countOwned(null), { timeout: 6_000, interval: 50 }).toBe(0);
    const after = heap();
    expect(after - before).toBeLessThan((full - before) / 5);
    await store.close();
  });
});
