import { describe, expect, it } from 'vitest';
import { createSession } from '../../../server/core/model.ts';
import { MemorySessionStore } from '../../../server/store/memory-store.ts';
import { storeContract } from './contract.ts';

storeContract('memory', async () => new MemorySessionStore({ sweepIntervalMs: 200 }));

describe('the memory store', () => {
  it('gives the memory of 10,000 expired sessions back without anyone reading them', async () => {
    expect(globalThis.gc, 'run with --expose-gc (vite.config.ts sets it)').toBeTypeOf('function');
    const store = new MemorySessionStore({ sweepIntervalMs: 250 });
    const heap = () => {
      globalThis.gc?.();
      return process.memoryUsage().heapUsed;
    };
    const before = heap();
    const now = Date.now();
    for (let i = 0; i < 10_000; i++) {
      const s = createSession(
        `s${i}`,
        { tasks: { a: 'A' }, ttlSeconds: 1, deadAfterMs: 1_000, title: 'x'.repeat(200) },
        now,
      );
      await store.create(s);
    }
    const full = heap();
    expect(full - before).toBeGreaterThan(5_000_000);
    // Not terminal: kept for deadAfterMs + ttlSeconds = 2 s, then swept.
    await expect
      .poll(async () => (await store.list({ limit: 20_000 })).sessions.length, { timeout: 6_000, interval: 250 })
      .toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const after = heap();
    expect(after - before).toBeLessThan((full - before) / 5);
    await store.close();
  });
});
