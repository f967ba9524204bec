import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { Snapshot } from '../../../protocol/index.ts';
import { eventSchema } from '../../../server/core/schemas.ts';
import { createLiveop, type Liveop } from '../../../server/liveop.ts';
import { CancelledError } from '../../../server/runner/progress-session.ts';
import { bearer, openStream, post } from '../../support/ndjson-client.ts';
import { startServer } from '../../support/server.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let liveop: Liveop | null = null;
afterEach(async () => {
  await liveop?.close();
  liveop = null;
});

describe('the in-process API', () => {
  it('runs sequential tasks in order and parallel ones together, and streams until complete', async () => {
    liveop = createLiveop();
    const { session } = await liveop.createSession({ title: 'Job', tasks: { one: 'One', two: 'Two', side: 'Side' } });
    const order: string[] = [];
    const first = session.addSequential(
      'one',
      async (task, n: number) => {
        order.push('one:start');
        for (let i = 1; i <= n; i++) {
          task.steps(i, n);
          await sleep(5);
        }
        order.push('one:end');
        return n * 2;
      },
      4,
    );
    const second = session.addSequential('two', async (task) => {
      order.push('two:start');
      task.log('in two');
      return 'two';
    });
    const side = session.addParallel('side', async () => {
      order.push('side');
      return 'side';
    });
    const seen: Snapshot[] = [];
    for await (const snapshot of session.stream()) seen.push(snapshot);
    expect(await first.result()).toBe(8);
    expect(await second.result()).toBe('two');
    expect(await side.result()).toBe('side');
    expect(order.indexOf('one:end')).toBeLessThan(order.indexOf('two:start'));
    const last = seen.at(-1)!;
    expect(last.status).toBe('complete');
    expect(last.tasks.find((t) => t.id === 'one')).toMatchObject({ done: 4, total: 4, percent: 100 });
    expect(seen.flatMap((s) => s.logs.map((l) => l.line))).toEqual(['in two']);
  });

  it('counts what track() iterates: a Set by its size, a generator without a total as "n done"', async () => {
    liveop = createLiveop();
    const { session } = await liveop.createSession({ tasks: { set: 'Set', gen: 'Generator' } });
    const rows = function* () {
      for (let i = 0; i < 1_200; i++) yield i;
    };
    const set = session.addParallel('set', async (task) => {
      for await (const _ of task.track(new Set(['a', 'b', 'c']), { unit: 'files' })) await sleep(1);
    });
    const gen = session.addParallel('gen', async (task) => {
      for await (const _ of task.track(rows(), { unit: 'rows', label: 'Importing' })) {
        // each row
      }
      // Read before the task completes, which ends what it says it is doing.
      await expect.poll(async () => (await session.snapshot()).tasks[1]?.message).toBe('Importing · 1,200 rows done');
    });
    await Promise.all([set.result(), gen.result()]);
    expect((await session.snapshot()).tasks[0]).toMatchObject({ done: 3, total: 3, unit: 'files' });
  });

  it('marks a failing task as error and re-throws its error from result()', async () => {
    liveop = createLiveop();
    const { session } = await liveop.createSession({ tasks: { bad: 'Bad' } });
    const handle = session.addSequential('bad', () => {
      throw new Error('disk full');
    });
    await expect(handle.result()).rejects.toThrow('disk full');
    const snap = await session.snapshot();
    expect(snap.status).toBe('error');
    expect(snap.error).toEqual({ message: 'disk full', task: 'bad' });
  });

  it('counts every item of track() into steps, validating the count once, not once per item', async () => {
    liveop = createLiveop();
    const { session } = await liveop.createSession({ tasks: { rows: 'Rows' } });
    const parses = vi.spyOn(eventSchema, 'safeParse');
    try {
      await session
        .addSequential('rows', async (task) => {
          for await (const _ of task.track(
            Array.from({ length: 100_000 }, (_, i) => i),
            { unit: 'rows' },
          )) {
            // each row
          }
        })
        .result();
      // start, the first count, complete: the other 99,999 counts are this loop's own.
      expect(parses.mock.calls.length).toBeLessThan(10);
    } finally {
      parses.mockRestore();
    }
    const snapshot = await session.snapshot();
    expect(snapshot.tasks[0]).toMatchObject({ status: 'complete', done: 100_000, total: 100_000, unit: 'rows' });
  });

  it('refuses a track() whose total or unit breaks the limits at its first item, naming the field', async () => {
    liveop = createLiveop();
    const { session } = await liveop.createSession({ tasks: { rows: 'Rows' } });
    const handle = session.addSequential('rows', async (task) => {
      for await (const _ of task.track([1, 2, 3], { total: 2.5 })) {
        // each row
      }
    });
    await expect(handle.result()).rejects.toThrow(/^steps\.total: /);
  });

  it('aborts the task’s signal when a viewer cancels over HTTP, and ends cancelled', async () => {
    const server = await startServer();
    try {
      const created = await server.liveop.createSession({ tasks: { long: 'Long' } }, { base: server.url });
      const handle = created.session.addSequential('long', async (task) => {
        for await (const _ of task.track(Array.from({ length: 1_000 }, (_, i) => i))) {
          await sleep(10);
        }
      });
      await expect.poll(async () => (await created.session.snapshot()).tasks[0]?.status).toBe('running');
      const cancel = await fetch(`${created.snapshotUrl}/cancel`, {
        method: 'POST',
        headers: bearer(created.viewerToken),
      });
      expect(cancel.status).toBe(202);
      await expect(handle.result()).rejects.toBeInstanceOf(CancelledError);
      await expect.poll(async () => (await created.session.snapshot()).status).toBe('cancelled');
    } finally {
      await server.close();
    }
  });

  it('stops the other tasks when one fails: the session takes no more reports', async () => {
    liveop = createLiveop();
    const { session } = await liveop.createSession({ tasks: { slow: 'Slow', bad: 'Bad' } });
    const slow = session.addParallel('slow', async (task) => {
      await new Promise((resolve) => task.signal.addEventListener('abort', resolve));
      task.throwIfCancelled();
    });
    const bad = session.addParallel('bad', async () => {
      await sleep(20);
      throw new Error('502 Bad Gateway');
    });
    await expect(bad.result()).rejects.toThrow('502');
    await expect(slow.result()).rejects.toBeInstanceOf(CancelledError);
    expect((await session.snapshot()).tasks.map((t) => t.status)).toEqual(['cancelled', 'error']);
  });

  it('marks stages active, done or failed around stage()', async () => {
    liveop = createLiveop();
    const { session } = await liveop.createSession({ tasks: { a: 'A' }, stages: ['Load', 'Save'] });
    const handle = session.addSequential('a', async (task) => {
      await task.stage('Load', async () => task.percent(50));
      await task.stage('Save', async () => {
        throw new Error('no space');
      });
    });
    await expect(handle.result()).rejects.toThrow('no space');
    const snap = await session.snapshot();
    expect(snap.stages).toEqual([
      { name: 'Load', state: 'done' },
      { name: 'Save', state: 'failed' },
    ]);
  });

  it('coalesces a flood of percent reports into a few writes, keeping the last', async () => {
    liveop = createLiveop();
    const { session } = await liveop.createSession({ tasks: { a: 'A' } });
    session.addSequential('a', async (task) => {
      for (let i = 0; i <= 10_000; i++) task.percent(i / 100);
      await session.flush();
      await new Promise((resolve) => task.signal.addEventListener('abort', resolve));
    });
    await expect.poll(async () => (await session.snapshot()).tasks[0]!.percent).toBe(99);
    const snap = await session.snapshot();
    expect(snap.version).toBeLessThan(10);
    expect(snap.tasks[0]!.percent).toBe(99);
    session.abortTasks();
  });

  it('mounts as a sub-app, and starts registered operations over HTTP with validated input', async () => {
    liveop = createLiveop();
    liveop.operation('report', {
      input: z.object({ month: z.string().regex(/^\d{4}-\d{2}$/) }),
      title: (input) => `Report for ${input.month}`,
      run: async (task, input) => {
        task.log(`building ${input.month}`);
        task.result({ rows: 3 });
      },
    });
    const app = new Hono();
    app.route('/progress', liveop.routes());
    const bad = await app.request('/progress/operations/report', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ month: 'May' }),
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/^month/);
    const ok = await app.request('http://localhost:3000/progress/operations/report', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ month: '2026-11' }),
    });
    expect(ok.status).toBe(201);
    const created = await ok.json();
    expect(created.streamUrl).toBe(`http://localhost:3000/progress/sessions/${created.id}/stream`);
    await expect
      .poll(async () => (await (await app.request(`/progress/sessions/${created.id}`)).json()).status)
      .toBe('complete');
    const snap = await (await app.request(`/progress/sessions/${created.id}`)).json();
    expect(snap).toMatchObject({ title: 'Report for 2026-11', result: { rows: 3 } });
    expect((await app.request('/progress/operations/nope', { method: 'POST' })).status).toBe(404);
  });

  it('lets an HTTP reporter and in-process code drive the same session', async () => {
    const server = await startServer();
    try {
      const created = await server.liveop.createSession({ tasks: { a: 'Remote', b: 'Local' } }, { base: server.url });
      const stream = await openStream(created.streamUrl);
      created.session.addParallel('b', async (task) => task.log('from inside'));
      await post(
        `${created.snapshotUrl}/events`,
        [
          { type: 'log', line: 'from outside' },
          { type: 'complete', task: 'a' },
        ],
        bearer(created.reporterToken),
      );
      await stream.ended;
      expect(stream.snapshots().at(-1)!.status).toBe('complete');
      expect(new Set(stream.snapshots().flatMap((s) => s.logs.map((l) => l.line)))).toEqual(
        new Set(['from inside', 'from outside']),
      );
    } finally {
      await server.close();
    }
  });

  it('restarts a finished operation as a new session with the same input; refuses while it runs', async () => {
    liveop = createLiveop();
    let runs = 0;
    let release: () => void = () => {};
    liveop.operation('sync', {
      input: z.object({ shop: z.string() }),
      run: async (task, { shop }) => {
        runs += 1;
        if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
        task.result({ shop, run: runs });
      },
    });
    const app = liveop.routes();
    const start = await app.request('/operations/sync', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ shop: 'north' }),
    });
    const first = await start.json();
    const early = await app.request(`/sessions/${first.id}/restart`, { method: 'POST' });
    expect(early.status).toBe(409);
    release();
    await expect.poll(async () => (await (await app.request(`/sessions/${first.id}`)).json()).status).toBe('complete');
    const again = await app.request(`/sessions/${first.id}/restart`, { method: 'POST' });
    expect(again.status).toBe(201);
    const second = await again.json();
    expect(second.id).not.toBe(first.id);
    // In place: the old session now points its viewers at the new attempt, as a chain does.
    expect((await (await app.request(`/sessions/${first.id}`)).json()).next).toMatchObject({
      id: second.id,
      viewerToken: expect.any(String),
    });
    await expect
      .poll(async () => (await (await app.request(`/sessions/${second.id}`)).json()).result)
      .toEqual({ shop: 'north', run: 2 });
    const plain = await liveop.createSession({ tasks: { a: 'A' } });
    plain.session.emit({ type: 'cancelled' });
    await plain.session.flush();
    expect((await app.request(`/sessions/${plain.id}/restart`, { method: 'POST' })).status).toBe(409);
  });

  it('shows none of its internals: no store, hub, runner, signer, secret or keys on the object', () => {
    liveop = createLiveop({ secret: 's'.repeat(32), apiKeys: { ['k'.repeat(20)]: { owner: 'ann' } } });
    expect(Object.keys(liveop)).toEqual(['open']);
    expect(JSON.stringify(liveop)).not.toContain('s'.repeat(32));
  });
});
