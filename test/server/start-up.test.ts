/**
 * What the standalone server and worker say when they cannot start, or start
 * with something missing: one line naming the setting and the cause, exit 1,
 * no stack trace.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { assertBuilt } from '../support/built.ts';
import { type StartedProcess, startProcess } from '../support/processes.ts';
import { REDIS_URL, redis } from '../support/requirements.ts';
import { freePort, type SpawnedServer, spawnServer } from '../support/spawned-server.ts';
import { freshPrefix, inspector, keysOf } from './store/redis-helpers.ts';

/** The built CLI, what `npx liveop` runs. */
const CLI = 'dist/lib/server/cli.js';

const started: (SpawnedServer | StartedProcess)[] = [];
afterEach(() => {
  for (const p of started.splice(0)) ('stop' in p ? p.stop : p.kill)();
});

/** Starts the server, expecting it to fail: its output once it has exited 1. */
async function failedStart(env: Record<string, string>, port?: number): Promise<string> {
  const server = await spawnServer(env, port);
  started.push(server);
  expect(await server.exited).toBe(1);
  const output = server.output();
  expect(output).not.toMatch(/\n\s+at /); // no stack trace
  return output.trim();
}

describe('the standalone server, failing to start', () => {
  it('names the address in use and what to change', async () => {
    const port = await freePort();
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(port, '127.0.0.1', done));
    try {
      expect(await failedStart({}, port)).toMatch(
        new RegExp(
          `liveop: 127\\.0\\.0\\.1:${port} is in use by another process \\(listen EADDRINUSE.*\\); set PORT \\(or HOST\\) to listen elsewhere$`,
        ),
      );
    } finally {
      taken.close();
    }
  });

  it('names REDIS_URL (without its password) and why Redis did not answer', async () => {
    const closed = await freePort();
    const output = await failedStart({ REDIS_URL: `redis://app:hunter2@127.0.0.1:${closed}` });
    expect(output).toMatch(
      new RegExp(
        `^liveop: REDIS_URL redis://app:\\*\\*\\*@127\\.0\\.0\\.1:${closed}: .*ECONNREFUSED 127\\.0\\.0\\.1:${closed}`,
      ),
    );
    expect(output).not.toContain('hunter2');
    expect(await failedStart({ REDIS_URL: 'localhost:6379' })).toMatch(/^liveop: REDIS_URL localhost:6379: /);
  });

  it('names LIVEOP_TTL_SECONDS and LIVEOP_MAX_AGE_DAYS when they are not whole numbers', async () => {
    expect(await failedStart({ LIVEOP_TTL_SECONDS: 'soon' })).toBe(
      'liveop: LIVEOP_TTL_SECONDS: "soon" is not a whole number, 1 or more',
    );
    expect(await failedStart({ LIVEOP_MAX_AGE_DAYS: '0.5' })).toBe(
      'liveop: LIVEOP_MAX_AGE_DAYS: "0.5" is not a whole number, 1 or more',
    );
  });

  it('names LIVEOP_SECRET when it is too short', async () => {
    expect(await failedStart({ LIVEOP_SECRET: 'short' })).toBe(
      'liveop: each token secret (LIVEOP_SECRET, comma-separated) must be at least 16 bytes',
    );
  });
});

describe('the standalone server, keeping sessions as told', () => {
  it('forgets a finished session LIVEOP_TTL_SECONDS after its end (the default is 300 s), on the memory store', async () => {
    const server = await spawnServer({ LIVEOP_TTL_SECONDS: '1', LIVEOP_MAX_AGE_DAYS: '30' });
    started.push(server);
    const made = await fetch(`${server.url}/sessions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'Short-lived', tasks: { a: 'A' } }),
    });
    const { snapshotUrl, reporterToken } = (await made.json()) as { snapshotUrl: string; reporterToken: string };
    const done = await fetch(`${snapshotUrl}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${reporterToken}` },
      body: JSON.stringify([{ type: 'complete', task: 'a' }]),
    });
    expect(done.status).toBe(200);
    expect((await fetch(snapshotUrl)).status).toBe(200);
    await expect.poll(async () => (await fetch(snapshotUrl)).status, { timeout: 5_000, interval: 200 }).toBe(404);
    expect(server.output()).not.toMatch(/LIVEOP_MAX_AGE_DAYS/); // no "ignored on the memory store" warning any more
  });
});

const req = await redis();

describe.skipIf(!req.available)('liveop worker', () => {
  const prefix = freshPrefix();
  afterEach(async () => {
    const client = await inspector();
    try {
      for (const key of await keysOf(client, prefix)) await client.unlink(key);
    } finally {
      await client.close();
    }
  });

  it('warns when it has no operations, and on SIGTERM says what it waits for (it has no streams)', async () => {
    assertBuilt(CLI, ['server', 'protocol', 'client']);
    const worker = startProcess(process.execPath, [CLI, 'worker'], {
      env: { REDIS_URL, LIVEOP_REDIS_PREFIX: prefix, LIVEOP_OPERATIONS: '' },
    });
    started.push(worker);
    await expect.poll(worker.output, { timeout: 15_000 }).toMatch(/worker running/);
    expect(worker.output()).toMatch(/liveop: no LIVEOP_OPERATIONS: this worker has no operations to run/);
    worker.stop('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toMatch(/liveop: SIGTERM: letting running operations finish, then exiting/);
    expect(worker.output()).not.toMatch(/streams/);
  }, 30_000);
});
