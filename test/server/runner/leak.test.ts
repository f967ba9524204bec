/**
 * A process that runs many small jobs does not grow with them: thousands of
 * in-process sessions (20,000 under `npm run test:soak`), each run to its end
 * and left to expire, give their memory back — the runner, the event writer
 * and the store hold nothing of them once they are gone. They expire on the
 * server's clock, which the test moves on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createLiveop, type Liveop } from '../../../server/liveop.ts';
import { MemorySessionStore } from '../../../server/store/memory-store.ts';
import { manualClock } from '../../support/clock.ts';
import { soakScale } from '../../support/soak.ts';

const SESSIONS = soakScale(20_000, 5_000);

const gc = (globalThis as { gc?: () => void }).gc;
const settle = async () => {
  for (let i = 0; i < 4; i++) {
    gc?.();
    await sleep(50);
  }
};

let liveop: Liveop | undefined;
afterEach(async () => {
  await liveop?.close();
  liveop = undefined;
});

describe('memory over many sessions', () => {
  it.skipIf(!gc)(
    `returns to where it started after ${SESSIONS.toLocaleString('en-US')} in-process sessions have run and expired`,
    async () => {
      const clock = manualClock();
      const store = new MemorySessionStore({ now: clock.now, sweepIntervalMs: 50 });
      liveop = createLiveop({ now: clock.now, store, sessionDefaults: { ttlSeconds: 1 } });
      /** TTL 1 s after its end: past it on the server's clock, and swept. */
      const expire = async () => {
        clock.advance(1_100);
        await expect.poll(() => store.countOwned(null), { timeout: 10_000, interval: 50 }).toBe(0);
      };
      const runBatch = async (count: number) => {
        await Promise.all(
          Array.from({ length: count }, async (_, i) => {
            const { session } = await liveop!.createSession({ title: `job ${i}`, tasks: { a: 'A' } });
            await session
              .addSequential('a', async (task) => {
                task.steps(1, 2);
                task.log('half way');
                task.result({ i });
              })
              .settled();
          }),
        );
      };
      await runBatch(500); // warm up: code paths compiled, pools sized
      await expire();
      await settle();
      const before = process.memoryUsage().heapUsed;
      for (let done = 0; done < SESSIONS; done += 1_000) await runBatch(1_000);
      const during = process.memoryUsage().heapUsed;
      await expire();
      await settle();
      const after = process.memoryUsage().heapUsed;
      const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
      console.log(
        `heap: ${mb(before)} MB before, ${mb(during)} MB with ${SESSIONS} run, ${mb(after)} MB after they expired`,
      );
      expect(liveop.stats()).toMatchObject({ sessions: 0, writes: 0, watchers: 0, connections: 0 });
      expect(after - before).toBeLessThan(5_000_000);
    },
    120_000,
  );
});

describe('what the host holds while a task runs', () => {
  it.skipIf(!gc)(
    'hears a cancel for a task that waits on nothing but its signal, though a collection ran meanwhile',
    async () => {
      // The server's clock stands still: only the task's own answer can end the session, not the cancel grace.
      const clock = manualClock();
      liveop = createLiveop({ now: clock.now, runner: 'local' });
      liveop.operation('watch-for-cancel', {
        run: (task) =>
          new Promise<void>((_, reject) =>
            task.signal.addEventListener('abort', () => reject(task.signal.reason), { once: true }),
          ),
      });
      const app = liveop.routes();
      const started = await app.request('/operations/watch-for-cancel', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{}',
      });
      const { id } = (await started.json()) as { id: string };
      const status = async () => ((await (await app.request(`/sessions/${id}`)).json()) as { status: string }).status;
      await expect.poll(status, { timeout: 5_000, interval: 10 }).toBe('running');
      // Nothing but the task's signal refers to its session now: a collection must not take it.
      await settle();
      expect((await app.request(`/sessions/${id}/cancel`, { method: 'POST' })).status).toBe(202);
      await expect.poll(status, { timeout: 5_000, interval: 10 }).toBe('cancelled');
    },
  );
});
