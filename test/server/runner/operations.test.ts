/**
 * One suite of operation behaviour, run on every runner: `inline`, `local`
 * and BullMQ (a worker in this process, on the real Redis). The operation's
 * code is the same under all three.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { CreatedSession, Snapshot } from '../../../protocol/index.ts';
import type { LiveopOptions } from '../../../server/liveop.ts';
import { bearer, post } from '../../support/ndjson-client.ts';
import { REDIS_URL, redis } from '../../support/requirements.ts';
import { startServer, type TestServer } from '../../support/server.ts';
import { freshPrefix, storeFactory } from '../store/redis-helpers.ts';

const req = await redis();
const stores = storeFactory();

/** What each runner needs: its options, and (BullMQ) a worker in this process. */
const RUNNERS: [string, () => Promise<Partial<LiveopOptions>>, boolean][] = [
  ['inline', async () => ({ runner: 'inline' }), true],
  ['local', async () => ({ runner: 'local', operationConcurrency: 1 }), true],
  [
    'bullmq',
    async () => {
      const prefix = freshPrefix();
      return {
        store: await stores.make({ prefix }),
        runner: { bullmq: { url: REDIS_URL, prefix, stalledMs: 3_000 } },
      };
    },
    req.available,
  ],
];

/** The same operations on every runner. */
function register(server: TestServer): void {
  server.liveop
    .operation('count', {
      input: z.object({ rows: z.number().int().min(1).max(1_000), ms: z.number().int().min(0).default(5) }),
      title: ({ rows }) => `Count ${rows}`,
      tasks: { count: 'Count rows' },
      run: async (task, { rows, ms }) => {
        for await (const row of task.track(
          Array.from({ length: rows }, (_, i) => i + 1),
          { label: 'Counting', unit: 'rows' },
        )) {
          await sleep(ms, undefined, { signal: task.signal });
          if (row % 10 === 0) task.log(`row ${row}`);
        }
        task.result({ rows });
      },
    })
    .operation('flaky', {
      tasks: { fetch: 'Fetch' },
      attempts: 3,
      backoff: { type: 'fixed', delayMs: 50 },
      run: async (task) => {
        task.log(`attempt ${task.attempt}`);
        if (task.attempt < 3) throw new Error(`timed out on attempt ${task.attempt}`);
        task.result({ attempt: task.attempt });
      },
    })
    .operation('broken', {
      run: async () => {
        throw new Error('the disk is full');
      },
    })
    .operation('first', {
      tasks: { one: 'Step one' },
      run: async (task) => {
        task.log('step one done');
        await task.chainTo('second', { from: 'first' });
      },
    })
    .operation('second', {
      tasks: { two: 'Step two' },
      run: async (task, input) => {
        task.result(input);
      },
    });
}

const start = (server: TestServer, name: string, input: object = {}) =>
  post(`${server.url}/operations/${name}`, input).then((a) => {
    if (a.status !== 201) throw new Error(`${name}: ${a.status} ${JSON.stringify(a.body)}`);
    return a.body as CreatedSession;
  });

/** Starts without waiting for the answer (the inline runner answers only at the end). */
const startInBackground = (server: TestServer, name: string, input: object = {}) =>
  fetch(`${server.url}/operations/${name}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(input),
  });

const snapshot = async (server: TestServer, id: string, token?: string): Promise<Snapshot & { errorDetail?: string }> =>
  (await fetch(`${server.url}/sessions/${id}`, token ? { headers: bearer(token) } : {})).json();

const ended = (server: TestServer, id: string) =>
  expect
    .poll(async () => (await snapshot(server, id)).status, { timeout: 15_000, interval: 50 })
    .toMatch(/^(complete|error|cancelled)$/);

describe.each(RUNNERS)('operations on the %s runner', (name, options, available) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await stores.cleanup();
  });

  async function setUp(extra: Partial<LiveopOptions> = {}): Promise<TestServer> {
    server = await startServer({ ...(await options()), ...extra });
    register(server);
    if (name === 'bullmq') await server.liveop.work({ concurrency: 1 });
    return server;
  }

  /** The newest session, for runners whose start answers only at the end. */
  const newest = async (s: TestServer) =>
    ((await (await fetch(`${s.url}/sessions?limit=1`)).json()) as { sessions: Snapshot[] }).sessions[0]!;

  it.skipIf(!available)('runs an operation: counts with its unit, logs, and ends with the result', async () => {
    const s = await setUp();
    const created = await start(s, 'count', { rows: 30 });
    await ended(s, created.id);
    const done = await snapshot(s, created.id);
    expect(done).toMatchObject({ status: 'complete', title: 'Count 30', result: { rows: 30 } });
    expect(done.tasks[0]).toMatchObject({ done: 30, total: 30, unit: 'rows' });
    // 'Counting' was what it was doing: over once it completed.
    expect(done.tasks[0]?.message).toBeUndefined();
    expect(done.logs.map((l) => l.line)).toEqual(['row 10', 'row 20', 'row 30']);
  });

  it.skipIf(!available)('refuses an input its schema refuses, naming the field, and starts nothing', async () => {
    const s = await setUp();
    const answer = await post(`${s.url}/operations/count`, { rows: 0 });
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(/^rows: /);
    expect(((await (await fetch(`${s.url}/sessions`)).json()) as { sessions: unknown[] }).sessions).toEqual([]);
  });

  it.skipIf(!available)(
    'tries a failing run again as its attempts say, showing each, keeping every log line',
    async () => {
      const s = await setUp();
      void startInBackground(s, 'flaky');
      await expect.poll(async () => (await newest(s))?.id, { timeout: 5_000 }).toBeTruthy();
      const { id } = await newest(s);
      await ended(s, id);
      const done = await snapshot(s, id);
      expect(done).toMatchObject({ status: 'complete', result: { attempt: 3 } });
      expect(done.tasks[0]!.attempt).toBe(3);
      expect(done.logs.map((l) => l.line)).toEqual([
        'attempt 1',
        '— failed: timed out on attempt 1 —',
        '— attempt 2 of 3 —',
        'attempt 2',
        '— failed: timed out on attempt 2 —',
        '— attempt 3 of 3 —',
        'attempt 3',
      ]);
    },
  );

  it.skipIf(!available)('fails with the message for viewers and keeps the stack for the owner', async () => {
    const s = await setUp();
    void startInBackground(s, 'broken');
    await expect.poll(async () => (await newest(s))?.id, { timeout: 5_000 }).toBeTruthy();
    const { id } = await newest(s);
    await ended(s, id);
    const token = (await post(`${s.url}/sessions/${id}/tokens`, { scope: 'view' })).body.token as string;
    const asViewer = await snapshot(s, id, token);
    expect(asViewer).toMatchObject({ status: 'error', error: { message: 'the disk is full' } });
    expect(asViewer.errorDetail).toBeUndefined();
    expect((await snapshot(s, id)).errorDetail).toMatch(/Error: the disk is full\n\s+at /);
  });

  it.skipIf(!available)('reaches a running operation’s signal on cancel, and it ends cancelled', async () => {
    const s = await setUp();
    void startInBackground(s, 'count', { rows: 1_000, ms: 20 });
    await expect.poll(async () => (await newest(s))?.tasks[0]?.done ?? 0, { timeout: 5_000 }).toBeGreaterThan(3);
    const { id } = await newest(s);
    const cancelledAt = Date.now();
    expect((await fetch(`${s.url}/sessions/${id}/cancel`, { method: 'POST' })).status).toBe(202);
    await ended(s, id);
    expect((await snapshot(s, id)).status).toBe('cancelled');
    expect(Date.now() - cancelledAt).toBeLessThan(2_000);
  });

  // The inline runner has no queue (its caller waits for the run itself): not a case for it.
  (name === 'inline' ? () => {} : it.skipIf(!available))(
    'shows a queued operation its place, and one cancelled while queued never starts',
    async () => {
      const s = await setUp();
      const busy = await start(s, 'count', { rows: 1_000, ms: 10 });
      const waiting = await start(s, 'count', { rows: 5 });
      await expect.poll(async () => (await snapshot(s, waiting.id)).queuePosition, { timeout: 5_000 }).toBe(1);
      expect((await snapshot(s, waiting.id)).status).toBe('pending');
      expect((await fetch(`${s.url}/sessions/${waiting.id}/cancel`, { method: 'POST' })).status).toBe(202);
      await ended(s, waiting.id);
      await fetch(`${s.url}/sessions/${busy.id}/cancel`, { method: 'POST' });
      await ended(s, busy.id);
      const cancelled = await snapshot(s, waiting.id);
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.tasks[0]!.done).toBeUndefined(); // it never ran
    },
  );

  it.skipIf(!available)(
    'chains from inside a task: the first ends pointing at the second, which runs to its end',
    async () => {
      const s = await setUp();
      void startInBackground(s, 'first');
      await expect.poll(async () => (await newest(s))?.id, { timeout: 5_000 }).toBeTruthy();
      const sessions = async () =>
        ((await (await fetch(`${s.url}/sessions`)).json()) as { sessions: Snapshot[] }).sessions;
      await expect.poll(async () => (await sessions()).length, { timeout: 10_000 }).toBe(2);
      // By their tasks, not the list's order: a chain made within the same
      // millisecond as its first session lists the two in id order.
      const listed = await sessions();
      const first = listed.find((x) => x.tasks[0]?.id === 'one');
      const second = listed.find((x) => x.tasks[0]?.id === 'two');
      await ended(s, first!.id);
      await ended(s, second!.id);
      expect(await snapshot(s, first!.id)).toMatchObject({
        status: 'complete',
        next: { id: second!.id, streamUrl: `/sessions/${second!.id}/stream`, viewerToken: expect.any(String) },
      });
      expect(await snapshot(s, second!.id)).toMatchObject({ status: 'complete', result: { from: 'first' } });
    },
  );
});
