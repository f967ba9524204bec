/**
 * Redis going away under running servers, on a redis-server of the test's own
 * (the shared one on 6379 is never stopped): streams stay open with
 * heartbeats, writes answer 503 with the contract's error JSON (never a 500
 * or a hang), and once Redis is back the streams catch up — or, when Redis
 * came back empty, end with `gone`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyEvents } from '../../../server/core/reducer.ts';
import { redisBinaries } from '../../support/requirements.ts';
import type { TestServer } from '../../support/server.ts';
import { storeFactory, ThrowawayRedis } from '../store/redis-helpers.ts';
import { type Cluster, CuttableLink, createOn, report, startCluster, Viewer } from './scale-out-helpers.ts';

const req = redisBinaries('Redis outage');

async function status(server: TestServer, path: string, token?: string): Promise<{ status: number; body: unknown }> {
  try {
    const response = await fetch(`${server.url}${path}`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(5_000),
    });
    return { status: response.status, body: await response.json() };
  } catch {
    return { status: 0, body: null }; // a hang
  }
}

const unavailable = { error: { code: 'unavailable', message: expect.any(String) } };

describe.skipIf(!req.available)('servers when Redis goes away', () => {
  let redis: ThrowawayRedis | undefined;
  let link: CuttableLink | undefined;
  let cluster: Cluster | undefined;
  let stores = storeFactory();
  const viewers: Viewer[] = [];
  afterEach(async () => {
    for (const viewer of viewers.splice(0)) viewer.close();
    await link?.restore().catch(() => {});
    await cluster?.close();
    await stores.cleanup();
    stores = storeFactory();
    await link?.cut();
    await redis?.kill();
    cluster = undefined;
    link = undefined;
    redis = undefined;
  });

  it('keeps streams open through a cut connection, answers 503 meanwhile, then delivers every line and the end', async () => {
    redis = await ThrowawayRedis.start();
    link = await CuttableLink.open(redis.port);
    cluster = await startCluster(2, { url: link.url, heartbeatMs: 300, store: { commandTimeoutMs: 500 } });
    // Another instance that still reaches Redis while ours cannot: its changes' notifications are lost to B.
    stores = storeFactory(redis.url);
    const elsewhere = await stores.make({ prefix: cluster.prefix });
    const [a, b] = cluster.servers as [TestServer, TestServer];

    const session = await createOn(a, { tasks: { t: 'T' } });
    await report(a, session, [{ type: 'start', task: 't' }]);
    for (let i = 1; i <= 3; i++) await report(a, session, [{ type: 'log', line: `line ${i}` }]);
    const viewer = await Viewer.open(b, session);
    viewers.push(viewer);
    await expect.poll(() => viewer.snapshots.at(-1)?.logSeq).toBe(3);

    await link.cut();
    const cutAt = viewer.lines.length;
    const writes = await Promise.all([
      report(a, session, [{ type: 'log', line: 'lost' }]),
      report(b, session, [{ type: 'log', line: 'lost' }]),
    ]);
    for (const write of writes) expect(write).toEqual({ status: 503, body: unavailable });
    expect(await status(a, '/healthz')).toEqual({ status: 503, body: unavailable });
    for (let i = 4; i <= 6; i++) {
      await elsewhere.update(session.id, (s) => applyEvents(s, [{ type: 'log', line: `line ${i}` }], Date.now()));
    }
    await expect
      .poll(() => viewer.lines.slice(cutAt).some((l) => l.type === 'heartbeat'), { timeout: 3_000 })
      .toBe(true);
    expect(viewer.ended).toBe(false);

    await link.restore();
    await expect.poll(async () => (await status(a, '/healthz')).status, { timeout: 5_000, interval: 100 }).toBe(200);
    await expect.poll(async () => (await status(b, '/healthz')).status, { timeout: 5_000, interval: 100 }).toBe(200);
    // B's resync read what it missed while cut off.
    await expect.poll(() => viewer.snapshots.at(-1)?.logSeq, { timeout: 5_000 }).toBe(6);
    expect((await report(a, session, [{ type: 'log', line: 'line 7' }])).status).toBe(200);
    const done = await report(b, session, [{ type: 'complete', task: 't' }]);
    expect(done.status).toBe(200);

    await expect.poll(() => viewer.ended, { timeout: 5_000 }).toBe(true);
    const logs = viewer.snapshots.flatMap((s) => s.logs);
    expect(logs.map((l) => l.line)).toEqual(Array.from({ length: 7 }, (_, i) => `line ${i + 1}`));
    expect(viewer.snapshots.at(-1)).toMatchObject({
      status: 'complete',
      version: (done.body as { version: number }).version,
    });
  });

  it('tells viewers `gone` when Redis comes back empty, after heartbeats and 503s while it was away', async () => {
    redis = await ThrowawayRedis.start();
    cluster = await startCluster(2, { url: redis.url, heartbeatMs: 300 });
    const [a, b] = cluster.servers as [TestServer, TestServer];
    const session = await createOn(a, { tasks: { t: 'T' } });
    await report(a, session, [{ type: 'start', task: 't' }]);
    const viewer = await Viewer.open(b, session);
    viewers.push(viewer);
    await expect.poll(() => viewer.snapshots.length).toBeGreaterThan(0);

    await redis.kill();
    const killedAt = viewer.lines.length;
    expect(await report(a, session, [{ type: 'log', line: 'x' }])).toEqual({ status: 503, body: unavailable });
    expect(await status(b, `/sessions/${session.id}`, session.viewerToken)).toEqual({
      status: 503,
      body: unavailable,
    });
    expect((await status(b, '/healthz')).status).toBe(503);
    await expect
      .poll(() => viewer.lines.slice(killedAt).some((l) => l.type === 'heartbeat'), { timeout: 3_000 })
      .toBe(true);
    expect(viewer.ended).toBe(false);

    await redis.start();
    await expect.poll(() => viewer.ended, { timeout: 6_000 }).toBe(true);
    expect(viewer.last).toEqual({ type: 'gone', id: session.id });
    // Each instance reconnects on its own backoff.
    for (const server of [a, b]) {
      await expect.poll(async () => (await status(server, '/healthz')).status, { timeout: 5_000 }).toBe(200);
    }
    expect((await status(a, `/sessions/${session.id}`, session.viewerToken)).status).toBe(404);
    expect((await report(b, session, [{ type: 'log', line: 'y' }])).status).toBe(404);
    // And the servers serve new sessions again.
    const again = await createOn(b, { tasks: { t: 'T' } });
    expect((await report(a, again, [{ type: 'start', task: 't' }])).status).toBe(200);
  });
});
