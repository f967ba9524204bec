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
