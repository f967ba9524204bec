/**
 * A process that runs many small jobs does not grow with them: 20,000
 * in-process sessions, each run to its end and left to expire, give their
 * memory back — the runner, the event writer and the store hold nothing of
 * them once they are gone.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createLiveop, type Liveop } from '../../../server/liveop.ts';

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
    'returns to where it started after 20,000 in-process sessions have run and expired',
    async () => {
      liveop = createLiveop({ sessionDefaults: { ttlSeconds: 1 } });
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
      await sleep(2_200);
      await settle();
      const before = process.memoryUsage().heapUsed;
      for (let done = 0; done < 20_000; done += 1_000) await runBatch(1_000);
      const during = process.memoryUsage().heapUsed;
      await sleep(2_500); // every session expired (TTL 1 s after its end) and swept
      await settle();
      const after = process.memoryUsage().heapUsed;
      const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
      console.log(
        `heap: ${mb(before)} MB before, ${mb(during)} MB with 20,000 run, ${mb(after)} MB after they expired`,
      );
      expect(liveop.stats()).toMatchObject({ sessions: 0, writes: 0, watchers: 0, connections: 0 });
      expect(after - before).toBeLessThan(5_000_000);
    },
    120_000,
  );
});
