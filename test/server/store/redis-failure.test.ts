/**
 * Redis going away, on a redis-server of the test's own (the shared one on
 * 6379 is never stopped): every method fails fast with StoreUnavailable,
 * nothing hangs or crashes, and the store comes back by itself.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createSession, type StoredSession } from '../../../server/core/model.ts';
import { applyEvents } from '../../../server/core/reducer.ts';
import { RedisSessionStore } from '../../../server/store/redis-store.ts';
import { SessionNotFound, type StoreChange, StoreUnavailable } from '../../../server/store/session-store.ts';
import { redisBinaries } from '../../support/requirements.ts';
import { freePort, storeFactory, ThrowawayRedis } from './redis-helpers.ts';

const req = redisBinaries('Redis failure');

const fresh = () => createSession(randomUUID(), { tasks: { a: 'A' } }, Date.now());
const log = (line: string) => (s: StoredSession) => applyEvents(s, [{ type: 'log', line }], Date.now());

/** How long a promise took to settle, and whether it failed with StoreUnavailable. */
async function timed(work: () => Promise<unknown>): Promise<{ ms: number; unavailable: boolean }> {
  const start = performance.now();
  try {
    await work();
    return { ms: performance.now() - start, unavailable: false };
  } catch (error) {
    return { ms: performance.now() - start, unavailable: error instanceof StoreUnavailable };
  }
}

describe.skipIf(!req.available)('the Redis store when Redis goes away', () => {
  const servers: ThrowawayRedis[] = [];
  const factories: ReturnType<typeof storeFactory>[] = [];
  /** A throwaway Redis, and a way to make stores on it; both gone after the test. */
  async function throwaway() {
    const redis = await ThrowawayRedis.start();
    servers.push(redis);
    const stores = storeFactory(redis.url);
    factories.push(stores);
    return { redis, stores };
  }
  afterEach(async () => {
    // Close the stores first (the server is still there to say goodbye to), then kill the servers.
    await Promise.all(factories.splice(0).map((f) => f.cleanup()));
    await Promise.all(servers.splice(0).map((s) => s.kill()));
  });

  it('fails every call fast while Redis is down, then reconnects by itself, resyncs, and finds the sessions gone', async () => {
    const { redis, stores } = await throwaway();
    const a = await stores.make({ url: redis.url, prefix: 'down' });
    const b = await stores.make({ url: redis.url, prefix: 'down' });
    let resyncs = 0;
    const heard: StoreChange[] = [];
    b.subscribe(
      (c) => heard.push(c),
      () => resyncs++,
    );
    const before = fresh();
    await a.create(before);
    await a.update(before.id, log('one'));
    await expect.poll(() => heard.length).toBe(2);

    await redis.kill();
    let changed = 0;
    const calls = await Promise.all([
      timed(() => a.get(before.id)),
      timed(() => a.create(fresh())),
      timed(() =>
        a.update(before.id, (s) => {
          changed++;
          return log('lost')(s);
        }),
      ),
      timed(() => a.delete(before.id)),
      timed(() => a.list({ limit: 10 })),
      timed(() => a.ping()),
      timed(() => b.ping()),
      timed(() => a.purge(1_000)),
    ]);
    for (const call of calls) {
      expect(call.unavailable).toBe(true);
      expect(call.ms).toBeLessThan(2_000);
    }
    // At most once, against the copy this instance last wrote (no read needed); its write
    // failed with the rest, so nothing was stored — the restart below finds nothing.
    expect(changed).toBeLessThanOrEqual(1);

    await redis.start();
    const answers = (store: RedisSessionStore) =>
      store.ping().then(
        () => true,
        () => false,
      );
    await expect.poll(() => answers(a), { timeout: 5_000, interval: 100 }).toBe(true);
    await expect.poll(() => answers(b), { timeout: 5_000, interval: 100 }).toBe(true);
    await expect.poll(() => resyncs, { timeout: 5_000, interval: 50 }).toBeGreaterThanOrEqual(1);

    // This Redis keeps nothing on disk: the session is gone, and says so.
    expect(await a.get(before.id)).toBeUndefined();
    await expect(a.update(before.id, log('x'))).rejects.toBeInstanceOf(SessionNotFound);
    expect((await a.list({ limit: 10 })).sessions).toEqual([]);

    // The scripts were forgotten with the restart: they are sent again, and the subscription works again.
    const after = fresh();
    await a.create(after);
    await b.update(after.id, log('two'));
    await expect
      .poll(() => heard.map((c) => [c.id, c.version]))
      .toEqual([
        [before.id, 1],
        [before.id, 2],
        [after.id, 1],
        [after.id, 2],
      ]);
    expect((await a.get(after.id))?.logs.map((l) => l.line)).toEqual(['two']);
  });

  it('fails fast when Redis stops answering but keeps the connection, and answers right once it is back', async () => {
    const { redis, stores } = await throwaway();
    const store = await stores.make({ url: redis.url, commandTimeoutMs: 500 });
    const one = fresh();
    const two = fresh();
    await store.create(one);
    await store.create(two);

    redis.pause();
    try {
      const calls = await Promise.all([timed(() => store.get(one.id)), timed(() => store.update(two.id, log('late')))]);
      for (const call of calls) {
        expect(call.unavailable).toBe(true);
        expect(call.ms).toBeLessThan(1_500);
      }
    } finally {
      redis.resume();
    }
    // The late replies to the abandoned commands must not be taken for the answers to new ones.
    expect((await store.get(one.id))?.id).toBe(one.id);
    expect((await store.get(two.id))?.id).toBe(two.id);
    const updated = await store.update(one.id, log('now'));
    expect(updated.logs.map((l) => l.line)).toEqual(['now']);
  });

  it('refuses to connect, with StoreUnavailable, when nothing answers', async () => {
    const port = await freePort();
    const start = performance.now();
    await expect(
      RedisSessionStore.connect({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 500, log: () => {} }),
    ).rejects.toBeInstanceOf(StoreUnavailable);
    expect(performance.now() - start).toBeLessThan(1_500);
  });
});
