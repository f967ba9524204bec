/**
 * Workers that die where nobody is left to notice, or more often than an
 * operation's attempts allow: the server with `LIVEOP_RUNNER=bullmq` and
 * worker processes on the real Redis, killed with `kill -9` at the slowest
 * moment (just after their job's lock was renewed).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession } from '../../protocol/index.ts';
import { post } from '../support/ndjson-client.ts';
import { redis } from '../support/requirements.ts';
import { spawnServer, spawnWorker } from '../support/spawned-server.ts';
import { inspector } from './store/redis-helpers.ts';
import { REPLACED_WITHIN_MS, STALLED_MS, workerProcesses } from './worker-processes.ts';

const req = await redis();

describe.skipIf(!req.available)('operations on worker processes that die', () => {
  const { prefix, env, processes, spawned, snapshot, ended, killRunning, replaced } = workerProcesses();

  it('runs the job of a worker that died alone on the next worker to start, within half the setting of its start', async () => {
    const server = await spawned(spawnServer(env));
    const alone = await spawned(spawnWorker(env));
    const created = (await post(`${server.url}/operations/demo-import`, { rows: 100, msPerRow: 50 }))
      .body as CreatedSession;
    await killRunning(server, [alone], created.id, 1);
    await alone.exited;
    // Its lock runs out meanwhile: nobody is left to notice.
    const client = await inspector();
    try {
      await expect.poll(() => client.exists(`${prefix}:operations:${created.id}:lock`), { timeout: 5_000 }).toBe(0);
    } finally {
      await client.close();
    }
    await spawned(spawnWorker(env));
    const ms = await replaced(server, created.id, 2, performance.now(), 'the next worker started');
    expect(ms).toBeLessThan(0.5 * STALLED_MS);
    await ended(server, created.id);
  }, 60_000);

  describe('with an operation whose onFinish hook counts its calls', () => {
    let hooks = '';
    /** The server, three workers (the fixture's operations loaded in each) and a session of operation `name`. */
    const startThree = async (name: string) => {
      hooks = join(mkdtempSync(join(tmpdir(), 'liveop-hooks-')), 'calls');
      const withOps = {
        ...env,
        LIVEOP_OPERATIONS: resolve('test/server/fixtures/worker-deaths-operations.mjs'),
        LIVEOP_TEST_HOOKS: hooks,
      };
      const server = await spawned(spawnServer(withOps));
      const workers = await Promise.all([1, 2, 3].map(() => spawned(spawnWorker(withOps))));
      const created = (await post(`${server.url}/operations/${name}`, { rows: 40, msPerRow: 50 }))
        .body as CreatedSession;
      return { server, workers, created };
    };
    const calls = (id: string) => {
      try {
        return readFileSync(hooks, 'utf8')
          .split('\n')
          .filter((line) => line.startsWith(`${id} `));
      } catch {
        return [];
      }
    };
    /** Stops every process (SIGTERM, then waits): no hook can be called after. */
    const stopAll = async () => {
      for (const p of processes) p.kill('SIGTERM');
      await Promise.all(processes.map((p) => p.exited));
    };
    afterEach(() => rmSync(join(hooks, '..'), { recursive: true, force: true }));

    it('runs attempt 3 to the end when the workers of attempts 1 and 2 are killed, and calls the hook once', async () => {
      const { server, workers, created } = await startThree('import-three-attempts');
      for (const attempt of [1, 2]) {
        const killed = await killRunning(server, workers, created.id, attempt);
        expect(await replaced(server, created.id, attempt + 1, killed)).toBeLessThan(REPLACED_WITHIN_MS);
      }
      await ended(server, created.id);
      const done = await snapshot(server, created.id);
      expect(done).toMatchObject({ status: 'complete', result: { imported: 40, attempt: 3 } });
      expect(done.tasks[0]).toMatchObject({ attempt: 3, done: 40, total: 40 });
      const lines = done.logs.map((l) => l.line);
      expect(lines).toEqual(['— attempt 2 of 3 —', '— attempt 3 of 3 —']);
      await expect.poll(() => calls(created.id), { timeout: 10_000 }).toHaveLength(1);
      await stopAll();
      expect(calls(created.id)).toEqual([expect.stringMatching(/ complete \d+$/)]);
    }, 90_000);

    it('ends the session `error` at once, and calls the hook once, when its workers die more often than its attempts allow', async () => {
      const { server, workers, created } = await startThree('import-two-attempts');
      const first = await killRunning(server, workers, created.id, 1);
      await replaced(server, created.id, 2, first);
      const last = await killRunning(server, workers, created.id, 2);
      await expect
        .poll(async () => (await snapshot(server, created.id)).status, { timeout: 20_000, interval: 20 })
        .toBe('error');
      const ms = Math.round(performance.now() - last);
      console.log(`attempts spent: session error ${ms} ms after the last attempt's worker was killed`);
      expect(ms).toBeLessThan(REPLACED_WITHIN_MS);
      const failed = await snapshot(server, created.id);
      expect(failed.error?.message).toMatch(/the worker running attempt 2 of 2 was lost/);
      expect(failed.tasks[0]).toMatchObject({ status: 'error', attempt: 2 });
      await expect.poll(() => calls(created.id), { timeout: 10_000 }).toHaveLength(1);
      await stopAll();
      expect(calls(created.id)).toEqual([expect.stringMatching(/ error \d+$/)]);
    }, 90_000);
  });
});
