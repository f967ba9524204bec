/**
 * Three servers on one Redis prefix, as behind a load balancer: a session
 * created on one, reported to on another, streamed from all three.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot } from '../../../protocol/index.ts';
import { redis } from '../../support/requirements.ts';
import type { TestServer } from '../../support/server.ts';
import { type Cluster, createOn, report, startCluster, Viewer } from './scale-out-helpers.ts';

const req = await redis();

/**
 * What a stream showed, checked: versions never go back (lines of one version
 * differ by the eased percent or the completion ramp), every log line arrives
 * once and in order.
 */
function expectWellOrdered(snapshots: Snapshot[], lines: number): void {
  const versions = snapshots.map((s) => s.version);
  expect(versions).toEqual([...versions].sort((x, y) => x - y));
  const logs = snapshots.flatMap((s) => s.logs);
  expect(logs.map((l) => l.line)).toEqual(Array.from({ length: lines }, (_, i) => `line ${i + 1}`));
  expect(logs.map((l) => l.seq)).toEqual(Array.from({ length: lines }, (_, i) => i + 1));
}

describe.skipIf(!req.available)('three instances on one Redis', () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('creates on A, reports on B, streams from C (and A and B): every line once, in order, to the end', async () => {
    cluster = await startCluster(3);
    const [a, b, c] = cluster.servers as [TestServer, TestServer, TestServer];
    const session = await createOn(a, { title: 'Import', tasks: { import: 'Import products' } });
    // Viewers open at once, while the session is still pending.
    const viewers = [await Viewer.open(c, session), await Viewer.open(a, session), await Viewer.open(b, session)];
    expect((await report(b, session, [{ type: 'start', task: 'import' }])).status).toBe(200);
    const total = 60;
    let version = 0;
    for (let i = 1; i <= total; i++) {
      const answer = await report(i % 2 ? b : c, session, [
        { type: 'percent', task: 'import', value: Math.floor((i * 99) / total) },
        { type: 'log', line: `line ${i}` },
      ]);
      expect(answer.status).toBe(200);
      version = (answer.body as { version: number }).version;
    }
    const done = await report(a, session, [{ type: 'complete', task: 'import', message: 'Imported' }]);
    expect(done.status).toBe(200);
    expect((done.body as { version: number }).version).toBe(version + 1);

    for (const viewer of viewers) {
      await expect.poll(() => viewer.ended, { timeout: 8_000 }).toBe(true);
      expectWellOrdered(viewer.snapshots, total);
      const last = viewer.snapshots.at(-1)!;
      expect(last).toMatchObject({ status: 'complete', percent: 100, version: version + 1 });
      expect(viewer.snapshots[0]).toMatchObject({ status: 'pending', version: 1 });
    }
  });

  it('resumes on another instance where the first stream left off, without repeating a log line', async () => {
    cluster = await startCluster(2);
    const [a, b] = cluster.servers as [TestServer, TestServer];
    const session = await createOn(a, { tasks: { t: 'T' } });
    await report(a, session, [{ type: 'start', task: 't' }]);
    for (let i = 1; i <= 5; i++) await report(a, session, [{ type: 'log', line: `line ${i}` }]);
    const first = await Viewer.open(a, session);
    await expect.poll(() => first.snapshots.at(-1)?.logSeq).toBe(5);
    first.close();
    const seen = first.snapshots.at(-1)!;

    for (let i = 6; i <= 10; i++) await report(b, session, [{ type: 'log', line: `line ${i}` }]);
    const resumed = await Viewer.open(b, session, `?after=${seen.version}&logAfter=${seen.logSeq}`);
    await report(b, session, [{ type: 'complete', task: 't' }]);
    await expect.poll(() => resumed.ended, { timeout: 8_000 }).toBe(true);
    expectWellOrdered([...first.snapshots, ...resumed.snapshots], 10);
  });

  it('cancels, from a viewer on B, an operation running in-process on A; a viewer on C sees it end', async () => {
    cluster = await startCluster(3);
    const [a, b, c] = cluster.servers as [TestServer, TestServer, TestServer];
    let aborted = false;
    a.liveop.operation('crawl', {
      tasks: { crawl: 'Crawl' },
      run: async (task) => {
        task.log('started');
        await new Promise<void>((_, reject) =>
          task.signal.addEventListener('abort', () => {
            aborted = true;
            reject(task.signal.reason);
          }),
        );
      },
    });
    const response = await fetch(`${a.url}/operations/crawl`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(201);
    const session = (await response.json()) as CreatedSession;
    const viewer = await Viewer.open(c, session);
    await expect.poll(() => viewer.snapshots.at(-1)?.logSeq, { timeout: 5_000 }).toBe(1);

    const cancel = await fetch(`${b.url}/sessions/${session.id}/cancel`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${session.viewerToken}` },
    });
    expect(cancel.status).toBe(202);
    await expect.poll(() => aborted, { timeout: 5_000 }).toBe(true);
    await expect.poll(() => viewer.ended, { timeout: 5_000 }).toBe(true);
    expect(viewer.snapshots.at(-1)?.status).toBe('cancelled');
  });

  it('moves a viewer to another instance when its own shuts down, losing and repeating nothing', async () => {
    cluster = await startCluster(2);
    const [a, b] = cluster.servers as [TestServer, TestServer];
    const session = await createOn(b, { tasks: { t: 'T' } });
    await report(b, session, [{ type: 'start', task: 't' }]);
    const first = await Viewer.open(a, session);
    for (let i = 1; i <= 4; i++) await report(b, session, [{ type: 'log', line: `line ${i}` }]);
    await expect.poll(() => first.snapshots.at(-1)?.logSeq).toBe(4);

    // A shuts down as on SIGTERM (server/main.ts): its streams end with a line that says "reconnect".
    await a.close();
    await expect.poll(() => first.ended).toBe(true);
    expect(first.last).toEqual({ type: 'reconnect' });
    for (let i = 5; i <= 8; i++) await report(b, session, [{ type: 'log', line: `line ${i}` }]);
    const seen = first.snapshots.at(-1)!;
    const second = await Viewer.open(b, session, `?after=${seen.version}&logAfter=${seen.logSeq}`);
    await report(b, session, [{ type: 'complete', task: 't' }]);
    await expect.poll(() => second.ended, { timeout: 8_000 }).toBe(true);
    expectWellOrdered([...first.snapshots, ...second.snapshots], 8);
    expect(second.snapshots.at(-1)?.status).toBe('complete');
  });
});
