/**
 * Work that outlives a process: the server (what `npm start` runs) with
 * `LIVEOP_RUNNER=bullmq` and worker processes (what `npm run worker` runs),
 * on the real Redis. A worker killed mid-run hands its job to another; jobs
 * queued while no worker runs wait for one, across a server restart.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot } from '../../protocol/index.ts';
import { post } from '../support/ndjson-client.ts';
import { startProcess } from '../support/processes.ts';
import { REDIS_URL, redis } from '../support/requirements.ts';
import { freePort, type SpawnedServer, spawnServer, spawnWorker } from '../support/spawned-server.ts';
import { freshPrefix, inspector, keysOf } from './store/redis-helpers.ts';

const req = await redis();

/** How soon a dead worker's job runs again (LIVEOP_STALLED_MS), short to keep the tests quick. */
const STALLED_MS = 2_000;
/** What the issue asks: a dead worker replaced within 1.2× the documented setting. */
const REPLACED_WITHIN_MS = 1.2 * STALLED_MS;

describe.skipIf(!req.available)('operations on worker processes', () => {
  const prefix = freshPrefix();
  const env = {
    REDIS_URL,
    LIVEOP_REDIS_PREFIX: prefix,
    LIVEOP_SECRET: 'workers-test-secret-0123456789abcdef',
    LIVEOP_RUNNER: 'bullmq',
    LIVEOP_STALLED_MS: String(STALLED_MS),
    LIVEOP_WORKER_CONCURRENCY: '1',
  };
  const processes: SpawnedServer[] = [];
  const spawned = async (made: Promise<SpawnedServer>) => {
    const p = await made;
    processes.push(p);
    return p;
  };
  afterEach(async () => {
    for (const p of processes.splice(0)) p.kill();
    const client = await inspector();
    try {
      for (const key of await keysOf(client, prefix)) await client.unlink(key);
    } finally {
      await client.close();
    }
  });

  const snapshot = async (server: SpawnedServer, id: string): Promise<Snapshot> =>
    (await fetch(`${server.url}/sessions/${id}`)).json();
  const ended = (server: SpawnedServer, id: string, timeout = 30_000) =>
    expect
      .poll(async () => (await snapshot(server, id)).status, { timeout, interval: 100 })
      .toMatch(/^(complete|error|cancelled)$/);

  /**
   * Kills (`kill -9`) the worker running attempt `attempt` of session `id`
   * once that attempt is under way, just after its job's lock was renewed: the
   * slowest moment to die, the lock then running its whole length before
   * anyone may take the job over. Answers when it was killed.
   */
  const killRunning = async (
    server: SpawnedServer,
    workers: SpawnedServer[],
    id: string,
    attempt: number,
  ): Promise<number> => {
    await expect
      .poll(
        async () => {
          const task = (await snapshot(server, id)).tasks[0];
          return (task?.attempt ?? 1) === attempt && task?.done !== undefined;
        },
        { timeout: 20_000, interval: 50 },
      )
      .toBe(true);
    const running = workers.find((w) => w.alive() && w.output().includes(`session ${id}, attempt ${attempt}`));
    expect(running).toBeDefined();
    const client = await inspector();
    try {
      const lock = `${prefix}:operations:${id}:lock`;
      let left = await client.pTTL(lock);
      for (;;) {
        await sleep(5); // a poll interval: the renewal is what is waited for
        const now = await client.pTTL(lock);
        if (now > left + 50) break;
        left = now;
      }
      running!.kill('SIGKILL');
      return performance.now();
    } finally {
      await client.close();
    }
  };

  /** Waits for attempt `attempt` of session `id` to show, printing and answering how long after `since` it did (the kill, or a start). */
  const replaced = async (
    server: SpawnedServer,
    id: string,
    attempt: number,
    since: number,
    what = 'the kill',
  ): Promise<number> => {
    await expect
      .poll(async () => (await snapshot(server, id)).tasks[0]?.attempt, { timeout: 20_000, interval: 20 })
      .toBe(attempt);
    const ms = Math.round(performance.now() - since);
    console.log(
      `dead worker replaced: attempt ${attempt} of session ${id.slice(0, 8)} showed ${ms} ms after ${what} (LIVEOP_STALLED_MS=${STALLED_MS})`,
    );
    return ms;
  };

  it('finishes a job on the other worker when the one running it is killed, as attempt 2, losing no log line', async () => {
    const server = await spawned(spawnServer(env));
    const workers = [await spawned(spawnWorker(env)), await spawned(spawnWorker(env))];
    const created = (await post(`${server.url}/operations/demo-import`, { rows: 60, msPerRow: 50 }))
      .body as CreatedSession;
    await expect
      .poll(async () => (await snapshot(server, created.id)).tasks[0]?.done ?? 0, { timeout: 10_000 })
      .toBeGreaterThan(25);
    const killed = await killRunning(server, workers, created.id, 1);
    expect(await replaced(server, created.id, 2, killed)).toBeLessThan(REPLACED_WITHIN_MS);
    const other = workers.find((w) => w.alive())!;
    await ended(server, created.id);
    expect(other.output()).toContain(`session ${created.id}, attempt 2`);
    const done = await snapshot(server, created.id);
    expect(done).toMatchObject({ status: 'complete', result: { imported: 60 } });
    expect(done.tasks[0]).toMatchObject({ attempt: 2, done: 60, total: 60 });
    const lines = done.logs.map((l) => l.line);
    const marker = lines.indexOf('— attempt 2 of 2 —');
    expect(marker).toBeGreaterThan(0);
    // Attempt 1's lines are kept before the marker; attempt 2 logged every tenth row after it.
    expect(lines.slice(0, marker)).toEqual(['row 10 imported', 'row 20 imported'].concat(lines.slice(2, marker)));
    expect(lines.slice(marker + 1)).toEqual([10, 20, 30, 40, 50, 60].map((n) => `row ${n} imported`));
  }, 60_000);

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

  it('refuses to start with a LIVEOP_STALLED_MS that is not a whole number of milliseconds, naming it', async () => {
    const values = ['soon', '0', '1500.5'];
    const workers = await Promise.all(
      values.map((value) => spawned(spawnWorker({ ...env, LIVEOP_STALLED_MS: value }))),
    );
    for (const [i, worker] of workers.entries()) {
      expect(await worker.exited).not.toBe(0);
      expect(worker.output()).toContain(
        `LIVEOP_STALLED_MS: "${values[i]}" is not a whole number of milliseconds, 100 or more`,
      );
    }
  }, 60_000);

  it('runs jobs queued while no worker ran once one starts, though the server restarted in between', async () => {
    const port = await freePort();
    let server = await spawned(spawnServer(env, port));
    const queued: CreatedSession[] = [];
    for (let i = 0; i < 2; i++) {
      queued.push(
        (await post(`${server.url}/operations/demo-import`, { rows: 5, msPerRow: 10 })).body as CreatedSession,
      );
    }
    await expect.poll(async () => (await snapshot(server, queued[1]!.id)).queuePosition, { timeout: 5_000 }).toBe(2);
    server.kill('SIGTERM');
    await server.exited;
    server = await spawned(spawnServer(env, port));
    await spawned(spawnWorker(env));
    for (const { id } of queued) await ended(server, id);
    for (const { id } of queued) expect((await snapshot(server, id)).status).toBe('complete');
  }, 60_000);

  it('follows a chain from inside a running task in `liveop watch`, to the end of the second session', async () => {
    const server = await spawned(spawnServer(env));
    await spawned(spawnWorker(env));
    const created = (await post(`${server.url}/operations/demo-chain`, {})).body as CreatedSession;
    const watch = startProcess(process.execPath, [
      'dist/lib/server/cli.js',
      'watch',
      created.streamUrl,
      '--token',
      created.viewerToken,
    ]);
    const code = await watch.exited;
    const out = watch.output();
    expect(code).toBe(0);
    expect(out).toContain('Step 1 of 2: export');
    expect(out).toMatch(/continues in \S+/);
    expect(out).toContain('Step 2 of 2: upload orders.csv');
    expect(out).toMatch(/COMPLETE 100%\n {2}uploaded: orders\.csv/);
  }, 60_000);
});
