/**
 * Parents that roll up their children (#24), through HTTP as a worker fans
 * out: on the memory store, on Redis with two instances (children reported
 * on one, the parent read on the other), and on a Redis Cluster.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot } from '../../../protocol/index.ts';
import type { LiveopOptions } from '../../../server/liveop.ts';
import type { SessionStore } from '../../../server/store/session-store.ts';
import { bearer, post } from '../../support/ndjson-client.ts';
import { redis, redisBinaries } from '../../support/requirements.ts';
import { startServer, type TestServer } from '../../support/server.ts';
import { storeFactory, ThrowawayCluster } from '../store/redis-helpers.ts';

const KEY = 'k'.repeat(24);
const OTHER = 'o'.repeat(24);
const SECRET = 's'.repeat(32);
const options = (store: SessionStore): LiveopOptions => ({
  store,
  secret: SECRET,
  apiKeys: { [KEY]: { owner: 'ann' }, [OTHER]: { owner: 'bob' } },
});

const hasRedis = (await redis()).available;
const hasCluster = redisBinaries('Redis Cluster', ['redis-server', 'redis-cli']).available;
let cluster: ThrowawayCluster | undefined;
const single = storeFactory();
let clustered: ReturnType<typeof storeFactory> | undefined;

/** Two servers (the reporting one and the reading one); on the memory store, one serves as both. */
type Pair = () => Promise<[TestServer, TestServer]>;
const PAIRS: [string, Pair, () => boolean][] = [
  [
    'memory',
    async () => {
      const { store: _, ...memory } = options(undefined as never);
      const server = await startServer(memory);
      return [server, server];
    },
    () => true,
  ],
  [
    'Redis, two instances',
    async () => {
      const a = await single.make();
      const b = await single.make({ prefix: a.keys.prefix });
      return [await startServer(options(a)), await startServer(options(b))];
    },
    () => hasRedis,
  ],
  [
    'a Redis Cluster, two instances',
    async () => {
      const a = await clustered!.make();
      const b = await clustered!.make({ prefix: a.keys.prefix });
      return [await startServer(options(a)), await startServer(options(b))];
    },
    () => hasCluster,
  ],
];

beforeAll(async () => {
  if (!hasCluster) return;
  cluster = await ThrowawayCluster.start();
  clustered = storeFactory(cluster.url);
});
afterAll(() => cluster?.stop());

describe.each(PAIRS)('a parent and its children on %s', (_, pair, available) => {
  let servers: TestServer[] = [];
  afterEach(async () => {
    for (const server of new Set(servers)) await server.close();
    servers = [];
    await single.cleanup();
    await clustered?.cleanup();
  });

  it.skipIf(!available())(
    'rolls up 4 tagged children: counts, a percent short of 100 until all ended, lists by parent and tag, ends in error',
    async () => {
      const [writer, reader] = await pair();
      servers = [writer, reader];
      const key = bearer(KEY);
      const created = await post(`${writer.url}/sessions`, { title: 'Batch', expectedChildren: 4 }, key);
      expect(created.status).toBe(201);
      const parent = created.body as CreatedSession;
      const read = async () =>
        (await (await fetch(`${reader.url}/sessions/${parent.id}`, { headers: key })).json()) as Snapshot;

      // The worker fans out with the parent's reporter token; the children are the parent's owner's.
      const children: CreatedSession[] = [];
      for (let i = 0; i < 4; i++) {
        const child = await post(
          `${writer.url}/sessions`,
          { title: `File ${i}`, parent: parent.id, tags: { batch: 'b1' } },
          bearer(parent.reporterToken),
        );
        expect(child.status).toBe(201);
        children.push(child.body);
      }
      const unrelated = (await post(`${writer.url}/sessions`, { title: 'Unrelated', tags: { batch: 'b2' } }, key))
        .body as CreatedSession;
      expect((await read()).children).toEqual({
        expected: 4,
        total: 4,
        pending: 4,
        running: 0,
        complete: 0,
        error: 0,
        cancelled: 0,
      });
      expect((await read()).status).toBe('pending');

      const send = (i: number, events: object[]) =>
        post(`${writer.url}/sessions/${children[i]!.id}/events`, events, bearer(children[i]!.reporterToken));
      await send(0, [{ type: 'percent', task: 'main', value: 50 }]);
      await send(1, [{ type: 'complete', task: 'main' }]);
      let seen = await read();
      expect(seen.children).toMatchObject({ total: 4, pending: 2, running: 1, complete: 1 });
      expect(seen.status).toBe('running');
      expect(seen.percent).toBeGreaterThanOrEqual(37); // (50 + 100) / 4, its bar easing ahead
      expect(seen.percent).toBeLessThan(100);
      await send(2, [{ type: 'complete', task: 'main' }]);
      await send(0, [{ type: 'complete', task: 'main' }]);
      seen = await read();
      expect(seen.children).toMatchObject({ pending: 1, running: 0, complete: 3 });
      expect(seen.percent).toBeLessThan(100);
      expect(seen.status).toBe('running');

      const ids = async (query: string) =>
        (
          (await (await fetch(`${reader.url}/sessions?${query}`, { headers: key })).json()) as { sessions: Snapshot[] }
        ).sessions
          .map((s) => s.id)
          .sort();
      const four = children.map((c) => c.id).sort();
      expect(await ids(`parent=${parent.id}`)).toEqual(four);
      expect(await ids('tag=batch:b1')).toEqual(four);
      // The top level: the batch as its parent, beside what has no parent; its children in its own list.
      expect(await ids('topLevel=true')).toEqual([parent.id, unrelated.id].sort());
      expect(await ids(`topLevel=true&parent=${parent.id}`)).toEqual([]);
      expect(await ids(`tag=batch:b1&parent=${parent.id}&status=complete`)).toEqual(
        [children[0]!.id, children[1]!.id, children[2]!.id].sort(),
      );
      // Another owner's key lists none of them.
      expect(
        (await (await fetch(`${reader.url}/sessions?parent=${parent.id}`, { headers: bearer(OTHER) })).json()).sessions,
      ).toEqual([]);

      await send(3, [{ type: 'error', message: 'bad file' }]);
      seen = await read();
      expect(seen.status).toBe('error');
      expect(seen.error?.message).toBe('1 of 4 children failed');
      expect(seen.children).toMatchObject({ complete: 3, error: 1 });
      expect(seen.percent).toBeLessThan(100);
    },
  );

  it.skipIf(!available())('cancels its running children when it is cancelled, and ends cancelled', async () => {
    const [writer, reader] = await pair();
    servers = [writer, reader];
    const key = bearer(KEY);
    const parent = (await post(`${writer.url}/sessions`, { title: 'Batch', expectedChildren: 3 }, key))
      .body as CreatedSession;
    const children: CreatedSession[] = [];
    for (let i = 0; i < 3; i++) {
      children.push((await post(`${writer.url}/sessions`, { parent: parent.id }, key)).body);
    }
    const send = (i: number, events: object[]) =>
      post(`${writer.url}/sessions/${children[i]!.id}/events`, events, bearer(children[i]!.reporterToken));
    await send(0, [{ type: 'complete', task: 'main' }]);
    await send(1, [{ type: 'start', task: 'main' }]);
    const cancelled = await post(`${reader.url}/sessions/${parent.id}/cancel`, {}, key);
    expect(cancelled.status).toBe(202);
    const child = async (i: number) =>
      (await (await fetch(`${reader.url}/sessions/${children[i]!.id}`, { headers: key })).json()) as Snapshot;
    expect((await child(1)).cancelRequested).toBe(true);
    expect((await child(2)).cancelRequested).toBe(true);
    expect((await child(0)).status).toBe('complete');
    // The workers answer the cancel; the parent ends once every child has.
    const answered = await send(1, [{ type: 'cancelled' }]);
    expect(answered.status).toBe(200);
    await send(2, [{ type: 'cancelled' }]);
    const seen = (await (await fetch(`${reader.url}/sessions/${parent.id}`, { headers: key })).json()) as Snapshot;
    expect(seen.status).toBe('cancelled');
    expect(seen.children).toMatchObject({ complete: 1, cancelled: 2, running: 0, pending: 0 });
  });

  it.skipIf(!available())('admits children only from the parent’s owner or its reporter token', async () => {
    const [writer] = await pair();
    servers = [writer];
    const parent = (await post(`${writer.url}/sessions`, { expectedChildren: 2 }, bearer(KEY))).body as CreatedSession;
    const plain = (await post(`${writer.url}/sessions`, {}, bearer(KEY))).body as CreatedSession;
    const create = (body: object, token: string) => post(`${writer.url}/sessions`, body, bearer(token));
    expect((await create({ parent: parent.id }, OTHER)).status).toBe(403);
    expect((await create({ parent: parent.id }, parent.viewerToken)).status).toBe(403);
    expect((await create({ parent: plain.id }, plain.reporterToken)).status).toBe(400);
    expect((await create({ parent: parent.id }, plain.reporterToken)).status).toBe(403);
    expect((await create({ parent: 'nope' }, KEY)).status).toBe(404);
    expect((await create({ parent: parent.id, expectedChildren: 2 }, KEY)).status).toBe(400);
    expect((await create({}, parent.reporterToken)).status).toBe(403);
    const child = await create({ parent: parent.id }, parent.reporterToken);
    expect(child.status).toBe(201);
    const snapshot = (await (await fetch(child.body.snapshotUrl, { headers: bearer(KEY) })).json()) as Snapshot;
    expect(snapshot.parent).toBe(parent.id);
  });
});
