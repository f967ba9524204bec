/**
 * Retention you choose (#24): a registered operation's `ttlSeconds` keeps
 * its sessions that long after they end, over the server's default; and a
 * parent keeps its children while it is kept (memory store and Redis, on
 * the server's injected clock).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot } from '../../../protocol/index.ts';
import type { SessionStore } from '../../../server/store/session-store.ts';
import { manualClock } from '../../support/clock.ts';
import { bearer, post } from '../../support/ndjson-client.ts';
import { redis } from '../../support/requirements.ts';
import { startServer, type TestServer } from '../../support/server.ts';
import { storeFactory } from '../store/redis-helpers.ts';

const KEY = 'k'.repeat(24);
const hasRedis = (await redis()).available;
const redisStores = storeFactory();

describe('retention per operation', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('keeps an operation’s ended session its own ttlSeconds, others the server’s default', async () => {
    server = await startServer({ runner: 'inline', sessionDefaults: { ttlSeconds: 60 } });
    server.liveop.operation('nightly', { ttlSeconds: 7 * 86_400, run: async () => {} });
    server.liveop.operation('quick', { run: async () => {} });
    const kept = async (name: string) => {
      const started = (await post(`${server!.url}/operations/${name}`, {})).body as CreatedSession;
      const snapshot = (await (await fetch(started.snapshotUrl)).json()) as Snapshot;
      expect(snapshot.status).toBe('complete');
      return (Date.parse(snapshot.expiresAt) - Date.parse(snapshot.finishedAt!)) / 1000;
    };
    expect(await kept('nightly')).toBe(7 * 86_400);
    expect(await kept('quick')).toBe(60);
  });
});

const STORES: [string, () => boolean][] = [
  ['memory', () => true],
  ['Redis', () => hasRedis],
];

describe.each(STORES)('a parent keeps its children on %s', (name, available) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await redisStores.cleanup();
  });

  it.skipIf(!available())(
    'a child that ended early is read and listed by ?parent= while its parent runs, and goes with its parent',
    async () => {
      const clock = manualClock();
      const store: SessionStore | undefined = name === 'Redis' ? await redisStores.make({ now: clock.now }) : undefined;
      server = await startServer({
        now: clock.now,
        ...(store ? { store } : {}),
        secret: 's'.repeat(32),
        apiKeys: { [KEY]: { owner: 'ann' } },
      });
      const key = bearer(KEY);
      const parent = (await post(`${server.url}/sessions`, { expectedChildren: 2, ttlSeconds: 60 }, key))
        .body as CreatedSession;
      const child = async () =>
        (await post(`${server!.url}/sessions`, { parent: parent.id, ttlSeconds: 10 }, bearer(parent.reporterToken)))
          .body as CreatedSession;
      const [early, late] = [await child(), await child()];
      const report = (c: CreatedSession, events: object[]) =>
        post(`${server!.url}/sessions/${c.id}/events`, events, bearer(c.reporterToken));
      expect((await report(early, [{ type: 'complete', task: 'main' }])).status).toBe(200);
      const read = (id: string) => fetch(`${server!.url}/sessions/${id}`, { headers: key });
      const listed = async () =>
        (
          (await (await fetch(`${server!.url}/sessions?parent=${parent.id}`, { headers: key })).json()) as {
            sessions: Snapshot[];
          }
        ).sessions
          .map((s) => s.id)
          .sort();

      // An hour on, the early child long past its own 10 s; the other child and so the parent still running.
      for (let minute = 1; minute <= 60; minute += 5) {
        clock.advance(5 * 60_000);
        expect((await report(late, [{ type: 'percent', task: 'main', value: minute }])).status).toBe(200);
        await store?.purge?.();
      }
      const kept = await read(early.id);
      expect(kept.status).toBe(200);
      expect(((await kept.json()) as Snapshot).status).toBe('complete');
      expect(await listed()).toEqual([early.id, late.id].sort());

      // The parent ends (its last child errs); after its 60 s, its children go with it.
      expect((await report(late, [{ type: 'error', message: 'boom' }])).status).toBe(200);
      expect(((await (await read(parent.id)).json()) as Snapshot).status).toBe('error');
      clock.advance(30_000);
      await store?.purge?.();
      expect((await read(early.id)).status).toBe(200);
      clock.advance(60 * 60_000);
      expect(await listed()).toEqual([]);
      expect((await read(early.id)).status).toBe(404);
      expect((await read(late.id)).status).toBe(404);
    },
  );
});
