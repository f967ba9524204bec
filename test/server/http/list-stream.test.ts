/**
 * `GET /sessions` as a live stream: the query's sessions first, then each as
 * it appears, changes and ends (no polling), on the memory store and on
 * Redis with the session created on another instance.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot, StreamLine } from '../../../protocol/index.ts';
import type { SessionStore } from '../../../server/store/session-store.ts';
import { bearer, openStream, post, type StreamReader } from '../../support/ndjson-client.ts';
import { redis } from '../../support/requirements.ts';
import { startServer, type TestServer } from '../../support/server.ts';
import { storeFactory } from '../store/redis-helpers.ts';

const hasRedis = (await redis()).available;
const stores = storeFactory();
const KEY = 'k'.repeat(24);
const OTHER = 'o'.repeat(24);
const options = (store?: SessionStore) => ({
  ...(store ? { store } : {}),
  secret: 's'.repeat(32),
  apiKeys: { [KEY]: { owner: 'ann' }, [OTHER]: { owner: 'bob' } },
});

const PAIRS: [string, () => Promise<[TestServer, TestServer]>, boolean][] = [
  [
    'memory',
    async () => {
      const server = await startServer(options());
      return [server, server];
    },
    true,
  ],
  [
    'Redis, two instances',
    async () => {
      const a = await stores.make();
      const b = await stores.make({ prefix: a.keys.prefix });
      return [await startServer(options(a)), await startServer(options(b))];
    },
    hasRedis,
  ],
];

const snapshotOf =
  (id: string, test: (s: Snapshot) => boolean = () => true) =>
  (line: StreamLine) =>
    line.type === 'snapshot' && line.id === id && test(line);

describe.each(PAIRS)('a list’s live stream on %s', (_, pair, available) => {
  let servers: TestServer[] = [];
  let stream: StreamReader | undefined;
  afterEach(async () => {
    stream?.close();
    for (const server of new Set(servers)) await server.close();
    servers = [];
    await stores.cleanup();
  });

  it.skipIf(!available)(
    'sends the query’s sessions, then each new one that matches as it appears, changes and ends',
    async () => {
      const [lister, writer] = await pair();
      servers = [lister, writer];
      const create = async (body: object, key = KEY) =>
        (await post(`${writer.url}/sessions`, body, bearer(key))).body as CreatedSession;
      const before = await create({ title: 'Before', tags: { batch: 'b1' } });
      stream = await openStream(`${lister.url}/sessions?tag=batch:b1`, {
        headers: { ...bearer(KEY), Accept: 'application/x-ndjson' },
      });
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get('content-type')).toMatch(/application\/x-ndjson/);
      await stream.waitFor(snapshotOf(before.id));

      const after = await create({ title: 'After', tags: { batch: 'b1' } });
      await create({ title: 'Elsewhere', tags: { batch: 'b2' } });
      await create({ title: 'Bob’s', tags: { batch: 'b1' } }, OTHER);
      await stream.waitFor(snapshotOf(after.id, (s) => s.status === 'pending'));
      await post(
        `${writer.url}/sessions/${after.id}/events`,
        [{ type: 'complete', task: 'main' }],
        bearer(after.reporterToken),
      );
      await stream.waitFor(snapshotOf(after.id, (s) => s.status === 'complete'));
      // A last session that matches shows every other one was looked at and left out.
      const last = await create({ title: 'Last', tags: { batch: 'b1' } });
      await stream.waitFor(snapshotOf(last.id));
      expect(new Set(stream.snapshots().map((s) => s.title))).toEqual(new Set(['Before', 'After', 'Last']));
      expect(stream.isEnded()).toBe(false);
    },
  );

  it.skipIf(!available)('with a status filter, adds a session once it comes to match', async () => {
    const [lister, writer] = await pair();
    servers = [lister, writer];
    stream = await openStream(`${lister.url}/sessions?status=running`, {
      headers: { ...bearer(KEY), Accept: 'application/x-ndjson' },
    });
    const made = (await post(`${writer.url}/sessions`, { title: 'Slow' }, bearer(KEY))).body as CreatedSession;
    await post(
      `${writer.url}/sessions/${made.id}/events`,
      [{ type: 'start', task: 'main' }],
      bearer(made.reporterToken),
    );
    await stream.waitFor(snapshotOf(made.id, (s) => s.status === 'running'));
  });
});
