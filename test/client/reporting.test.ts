/**
 * liveop/client against the real server: a worker reports through a
 * RemoteSession, a viewer watches it, and what each sees is checked.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClient, LiveopClientError, type Snapshot } from '../../client/index.ts';
import { manualClock } from '../support/clock.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fetch that counts the events batches it carries. */
function countingFetch() {
  const batches: unknown[][] = [];
  const counted: typeof fetch = (input, init) => {
    if (init?.method === 'POST' && String(input).endsWith('/events')) batches.push(JSON.parse(String(init.body)));
    return fetch(input, init);
  };
  return { fetch: counted, batches };
}

describe('reporting and watching a session', () => {
  it('lets a viewer watch the steps, each log line once, and the result, and ends at complete', async () => {
    const client = createClient({ baseUrl: server.url });
    const session = await client.createSession({ title: 'Import', tasks: { rows: 'Rows' } });
    const viewer = createClient({ baseUrl: server.url }).session(session.id, { viewerToken: session.viewerToken! });
    const seen: Snapshot[] = [];
    let acted = 0;
    for await (const snapshot of viewer.watch()) {
      seen.push(snapshot);
      const done = snapshot.tasks[0]?.done ?? 0;
      if (done < acted) continue;
      // Each step is reported once the viewer has seen the one before.
      if (acted < 3) {
        acted += 1;
        session.log(`row ${acted}`);
        session.steps('rows', acted, 3);
      } else if (acted === 3) {
        acted += 1;
        session.result({ imported: 3 });
        session.complete('rows', 'All rows imported');
      }
    }
    await session.close();
    const done = seen.map((s) => s.tasks[0]!.done).filter((d) => d !== undefined);
    expect([...new Set(done)]).toEqual([1, 2, 3]);
    expect(seen.flatMap((s) => s.logs.map((l) => l.line))).toEqual(['row 1', 'row 2', 'row 3']);
    expect(seen.at(-1)).toMatchObject({ status: 'complete', percent: 100, result: { imported: 3 } });
    expect(seen.filter((s) => s.status === 'complete')).toHaveLength(1);
  });

  it('attaches a worker to a session by id and reporter token', async () => {
    const web = createClient({ baseUrl: server.url });
    const created = await web.createSession({ tasks: { a: 'A' } });
    const worker = createClient({ baseUrl: server.url }).session(created.id, { reporterToken: created.reporterToken! });
    worker.start('a');
    worker.message('Working', { task: 'a', level: 'warning' });
    worker.stage('Load');
    await worker.close();
    const snapshot = await created.snapshot();
    expect(snapshot.tasks[0]).toMatchObject({ status: 'running', message: 'Working', level: 'warning' });
    expect(snapshot.stages).toEqual([{ name: 'Load', state: 'active' }]);
    expect(snapshot.version).toBe(2);
  });

  it('reads the session complete at 100, with its result, right after close()', async () => {
    const client = createClient({ baseUrl: server.url });
    const session = await client.createSession({ tasks: { load: 'Load' } });
    session.steps('load', 50, 50);
    session.result({ rows: 50 });
    session.complete('load');
    await session.close();
    const snapshot = await session.snapshot();
    expect(snapshot).toMatchObject({ status: 'complete', percent: 100, result: { rows: 50 } });
    expect(snapshot.tasks[0]).toMatchObject({ status: 'complete', percent: 100 });
    expect(snapshot.finishedAt).not.toBeNull();
  });
});

describe('batching', () => {
  it('sends a thousand percent reports made at once as one batch holding the newest', async () => {
    const counting = countingFetch();
    const client = createClient({ baseUrl: server.url, fetch: counting.fetch });
    const session = await client.createSession({ tasks: { a: 'A' } });
    for (let i = 1; i <= 1000; i++) session.percent('a', i / 20);
    await session.flush();
    expect(counting.batches).toEqual([[{ type: 'percent', task: 'a', value: 50 }]]);
    expect((await session.snapshot()).version).toBe(2);
    await session.close();
  });

  it('sends a thousand percent reports spread over a while as a handful of batches', async () => {
    const client = createClient({ baseUrl: server.url, flushIntervalMs: 50 });
    const session = await client.createSession({ tasks: { a: 'A', b: 'B' } });
    const started = Date.now();
    for (let i = 1; i <= 1000; i++) {
      session.percent('a', i / 20);
      session.steps('b', i, 1000);
      if (i % 10 === 0) await sleep(2); // the worker's pace: reports spread over several flush intervals
    }
    await session.flush();
    const elapsed = Date.now() - started;
    const snapshot = await session.snapshot();
    // One batch per flush interval (50 ms), and one for the flush.
    expect(snapshot.version - 1).toBeGreaterThanOrEqual(2);
    expect(snapshot.version - 1).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 2);
    expect(snapshot.tasks.find((t) => t.id === 'b')).toMatchObject({ done: 1000, total: 1000 });
    expect(snapshot.tasks.find((t) => t.id === 'a')!.percent).toBeGreaterThanOrEqual(50);
    await session.close();
  });

  it('never coalesces log lines, and keeps them in order between progress reports', async () => {
    const counting = countingFetch();
    const client = createClient({ baseUrl: server.url, fetch: counting.fetch });
    const session = await client.createSession({ tasks: { a: 'A' } });
    session.percent('a', 1);
    session.log('one');
    session.percent('a', 2);
    session.percent('a', 3);
    session.log('two', 'three');
    session.log('four');
    await session.close();
    expect(counting.batches).toEqual([
      [
        { type: 'percent', task: 'a', value: 1 },
        { type: 'log', lines: ['one'] },
        { type: 'percent', task: 'a', value: 3 },
        { type: 'log', lines: ['two', 'three', 'four'] },
      ],
    ]);
    expect((await session.snapshot()).logs.map((l) => l.line)).toEqual(['one', 'two', 'three', 'four']);
  });

  it('splits what is past the server limits into several batches: 10,000 events, or the byte budget', async () => {
    const counting = countingFetch();
    const client = createClient({ baseUrl: server.url, fetch: counting.fetch });
    const session = await client.createSession({ tasks: { a: 'A' } });
    for (let i = 0; i < 25_000; i++) session.message(`message ${i}`);
    const long = 'x'.repeat(1_900);
    for (let i = 0; i < 1_500; i++) session.log(`${i} ${long}`);
    await session.close();
    const sizes = counting.batches.map((b) => b.length);
    expect(sizes.slice(0, 2)).toEqual([10_000, 10_000]);
    for (const batch of counting.batches) expect(JSON.stringify(batch).length).toBeLessThanOrEqual(1_000_000);
    const snapshot = await session.snapshot();
    expect(snapshot.message).toEqual({ text: 'message 24999', level: 'info' });
    expect(snapshot.logSeq).toBe(1_500);
    expect(snapshot.logs.map((l) => Number(l.line.split(' ')[0]))).toEqual(
      Array.from({ length: 1_000 }, (_, i) => 500 + i),
    );
    expect(snapshot.version - 1).toBe(counting.batches.length);
  });
});

describe('heartbeats', () => {
  /** Time the server's clock can be moved on by hand: stalls and deadlines without waiting for them. */
  async function serverWithClock() {
    const clock = manualClock();
    return { server: await startServer({ now: clock.now }), advance: clock.advance };
  }

  /** The session's version once the server has applied another batch (a heartbeat, when idle). */
  const nextBatch = async (session: { snapshot(): Promise<Snapshot> }) => {
    const { version } = await session.snapshot();
    await vi.waitFor(async () => expect((await session.snapshot()).version).toBeGreaterThan(version), 5_000);
  };

  it('sends heartbeats while idle, so a running task does not show stalled, and stops at close', async () => {
    const { server: clocked, advance } = await serverWithClock();
    try {
      const counting = countingFetch();
      const client = createClient({ baseUrl: clocked.url, heartbeatMs: 20, fetch: counting.fetch });
      const session = await client.createSession({ tasks: { a: 'A' }, stallAfterMs: 1_000 });
      session.start('a');
      await session.flush();
      // Well past stallAfterMs on the server's clock, a heartbeat at each step.
      for (let step = 0; step < 5; step++) {
        advance(300);
        await nextBatch(session);
      }
      const snapshot = await session.snapshot();
      expect(snapshot.tasks[0]).toMatchObject({ status: 'running', stalled: false });
      expect(counting.batches.length).toBeGreaterThanOrEqual(6);
      expect(counting.batches.slice(1).every((b) => JSON.stringify(b) === '[{"type":"heartbeat"}]')).toBe(true);
      // Without them, the same clock shows it stalled.
      await session.close();
      const closedAt = counting.batches.length;
      advance(1_000);
      expect((await session.snapshot()).tasks[0]).toMatchObject({ status: 'running', stalled: true });
      await sleep(100); // only time passing shows that nothing more is sent: five heartbeat intervals
      expect(counting.batches.length).toBe(closedAt);
    } finally {
      await clocked.close();
    }
  });

  it('sends no heartbeat before the first report, and stops quietly once the session has ended', async () => {
    const counting = countingFetch();
    const errors: LiveopClientError[] = [];
    const client = createClient({
      baseUrl: server.url,
      heartbeatMs: 20,
      fetch: counting.fetch,
      onError: (error) => errors.push(error),
    });
    const session = await client.createSession({ tasks: { a: 'A' } });
    await sleep(100); // only time passing shows that nothing is sent: five heartbeat intervals
    expect(counting.batches).toEqual([]);
    session.complete('a');
    await session.flush();
    // The session ended with the flush: the next heartbeat is refused with 409, and the reporter stops.
    await vi.waitFor(() => expect(counting.batches.length).toBeGreaterThanOrEqual(2), 5_000);
    const sent = counting.batches.length;
    await sleep(100); // five heartbeat intervals, to show that none follows
    expect(counting.batches.length).toBe(sent);
    expect(errors).toEqual([]);
    await expect(session.close()).resolves.toBeUndefined();
    expect((await session.snapshot()).status).toBe('complete');
  });
});

describe('cancelling', () => {
  it('aborts cancelRequested once an events answer says a cancel was requested', async () => {
    const client = createClient({ baseUrl: server.url });
    const worker = await client.createSession({ tasks: { a: 'A' } });
    const reasons: unknown[] = [];
    worker.cancelRequested.addEventListener('abort', () => reasons.push(worker.cancelRequested.reason));
    worker.percent('a', 10);
    await worker.flush();
    expect(worker.cancelRequested.aborted).toBe(false);
    const viewer = createClient({ baseUrl: server.url }).session(worker.id, { viewerToken: worker.viewerToken! });
    await viewer.cancel();
    worker.percent('a', 20);
    await worker.flush();
    expect(worker.cancelRequested.aborted).toBe(true);
    expect(reasons).toHaveLength(1);
    expect((reasons[0] as Error).name).toBe('AbortError');
    await expect(fetch(`${server.url}/healthz`, { signal: worker.cancelRequested })).rejects.toThrow();
    worker.cancelled();
    await worker.close();
    expect((await worker.snapshot()).status).toBe('cancelled');
  });

  it('aborts cancelRequested when a watched snapshot says a cancel was requested', async () => {
    const client = createClient({ baseUrl: server.url });
    const session = await client.createSession({ tasks: { a: 'A' } });
    session.start('a');
    await session.flush();
    const watching = (async () => {
      for await (const snapshot of session.watch()) if (snapshot.cancelRequested) return snapshot;
    })();
    await createClient({ baseUrl: server.url }).session(session.id, { viewerToken: session.viewerToken! }).cancel();
    const snapshot = await watching;
    expect(snapshot?.cancelRequested).toBe(true);
    expect(session.cancelRequested.aborted).toBe(true);
    await session.close();
  });
});

describe('refusals', () => {
  it('rejects flush() with the server error message and status, and tells onError', async () => {
    const errors: LiveopClientError[] = [];
    const client = createClient({ baseUrl: server.url, onError: (error) => errors.push(error) });
    const session = await client.createSession({ tasks: { a: 'A' } });
    session.percent('a', 150);
    const refusal = await session.flush().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(LiveopClientError);
    expect(refusal).toMatchObject({ status: 400, code: 'invalid_body' });
    expect((refusal as Error).message).toMatch(/^events\.0\.value: /);
    expect(errors).toEqual([refusal]);
    // A refused batch is not retried and changes nothing; later reports still go.
    session.percent('ghost', 1);
    await expect(session.flush()).rejects.toMatchObject({ status: 404, code: 'not_found' });
    session.percent('a', 40);
    await expect(session.close()).resolves.toBeUndefined();
    expect((await session.snapshot()).version).toBe(2);
  });

  it('sends the good events of a batch refused for one of them again without it, and names what it dropped', async () => {
    const counting = countingFetch();
    const errors: LiveopClientError[] = [];
    const client = createClient({ baseUrl: server.url, fetch: counting.fetch, onError: (e) => errors.push(e) });
    const session = await client.createSession({ tasks: { rows: 'Rows' } });
    session.log('row 1 imported');
    session.steps('rows', 1, 4);
    session.message('Importing', { task: 'rowz' }); // a typo
    session.log('row 2 imported');
    const refusal = (await session.flush().catch((error: unknown) => error)) as LiveopClientError;
    expect(refusal).toMatchObject({
      status: 404,
      code: 'not_found',
      dropped: [{ type: 'message', task: 'rowz', text: 'Importing' }],
    });
    expect(refusal.message).toBe(
      '1 of 4 events refused and dropped, the others applied: message for task "rowz" (unknown task "rowz")',
    );
    expect(errors).toEqual([refusal]);
    const snapshot = await session.snapshot();
    expect(snapshot.logs.map((l) => l.line)).toEqual(['row 1 imported', 'row 2 imported']);
    expect(snapshot.tasks[0]).toMatchObject({ done: 1, total: 4 });
    // The batch, then its halves, then the refused half's halves: four requests, not one per event.
    expect(counting.batches.map((b) => b.length)).toEqual([4, 2, 2, 1, 1]);
    await session.close();
  });

  it('rejects the next flush() with a refusal that happened while nobody was waiting', async () => {
    const refused: LiveopClientError[] = [];
    const client = createClient({ baseUrl: server.url, onError: (error) => refused.push(error) });
    const session = await client.createSession({ tasks: { a: 'A' } });
    session.steps('a', 5, 2);
    await vi.waitFor(() => expect(refused).toHaveLength(1), 5_000);
    await expect(session.flush()).rejects.toMatchObject({ status: 400, message: /done must not exceed total/ });
    await expect(session.flush()).resolves.toBeUndefined();
  });

  it('stops reporting once the session has ended, rather than sending again and again', async () => {
    const counting = countingFetch();
    const errors: LiveopClientError[] = [];
    const client = createClient({ baseUrl: server.url, fetch: counting.fetch, onError: (e) => errors.push(e) });
    const session = await client.createSession({ tasks: { a: 'A' } });
    session.error('The disk is full');
    await session.flush();
    session.log('after the end');
    await expect(session.flush()).rejects.toMatchObject({ status: 409, code: 'conflict' });
    session.log('and again');
    session.percent('a', 50);
    await expect(session.close()).resolves.toBeUndefined();
    expect(counting.batches).toHaveLength(2);
    expect(errors.map((e) => e.status)).toEqual([409]);
    expect((await session.snapshot()).logs).toEqual([]);
  });

  it('shortens a log line or message past the limits rather than losing the batch it travels in', async () => {
    const client = createClient({ baseUrl: server.url });
    const session = await client.createSession({ tasks: { a: 'A' } });
    session.log('short', 'y'.repeat(3_000));
    session.message('m'.repeat(2_500));
    session.error('e'.repeat(20_000));
    await session.close();
    const snapshot = await session.snapshot();
    expect(snapshot.logs.map((l) => l.line)).toEqual(['short', `${'y'.repeat(1_999)}…`]);
    expect(snapshot.message?.text).toBe(`${'m'.repeat(1_999)}…`);
    expect(snapshot.error?.message).toHaveLength(10_000);
    expect(snapshot.status).toBe('error');
  });

  it('rejects createSession() with the contract error for a bad body', async () => {
    const client = createClient({ baseUrl: server.url });
    await expect(client.createSession({ tasks: { 'bad id!': 'x' } })).rejects.toMatchObject({
      status: 400,
      code: 'invalid_body',
    });
  });
});
