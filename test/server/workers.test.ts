/**
 * Work that outlives a process: the server with `LIVEOP_RUNNER=bullmq` and
 * worker processes, on the real Redis. A worker killed mid-run hands its job
 * to another; jobs queued while no worker runs wait for one, across a server
 * restart. (Workers dying alone, and more often than the attempts allow:
 * worker-deaths.test.ts, a file of its own so the two run side by side.)
 */

import { describe, expect, it } from 'vitest';
import type { CreatedSession } from '../../protocol/index.ts';
import { post } from '../support/ndjson-client.ts';
import { startProcess } from '../support/processes.ts';
import { redis } from '../support/requirements.ts';
import { freePort, spawnServer, spawnWorker } from '../support/spawned-server.ts';
import { REPLACED_WITHIN_MS, workerProcesses } from './worker-processes.ts';

const req = await redis();

describe.skipIf(!req.available)('operations on worker processes', () => {
  const { env, spawned, snapshot, ended, killRunning, replaced } = workerProcesses();

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
