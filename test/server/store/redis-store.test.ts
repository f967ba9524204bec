import { randomUUID } from 'node:crypto';
import type { RedisClientType } from '@keyv/redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSession, type StoredSession } from '../../../server/core/model.ts';
import { applyEvents } from '../../../server/core/reducer.ts';
import { retentionMs } from '../../../server/core/status.ts';
import type { StoreChange } from '../../../server/store/session-store.ts';
import { manualClock } from '../../support/clock.ts';
import { redis } from '../../support/requirements.ts';
import { storeContract } from './contract.ts';
import { inspector, storeFactory } from './redis-helpers.ts';

const req = await redis();

describe.skipIf(!req.available)('the Redis store', () => {
  const stores = storeFactory();
  let look: RedisClientType;
  beforeAll(async () => {
    look = await inspector();
  });
  afterEach(() => stores.cleanup());
  afterAll(() => look?.close());

  storeContract('redis', (options) => stores.make(options));

  const fresh = (input: Parameters<typeof createSession>[1] = { tasks: { a: 'A' } }, at = Date.now()) =>
    createSession(randomUUID(), input, at);
  const log = (line: string) => (s: StoredSession) => applyEvents(s, [{ type: 'log', line }], Date.now());

  it('loses none of 500 updates fired at once from two instances, and both hear every version in order', async () => {
    const a = await stores.make();
    const b = await stores.make({ prefix: a.keys.prefix });
    const heardA: number[] = [];
    const heardB: number[] = [];
    a.subscribe((c) => heardA.push(c.version));
    b.subscribe((c) => heardB.push(c.version));
    const session = fresh();
    await a.create(session);
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => (i % 2 ? a : b).update(session.id, log(`line ${i}`))),
    );
    const final = await b.get(session.id);
    expect(final?.version).toBe(501);
    expect(final?.logs.map((l) => l.line).sort()).toEqual(Array.from({ length: 500 }, (_, i) => `line ${i}`).sort());
    expect(new Set(results.map((s) => s.version)).size).toBe(500);
    // Each instance's own calls resolve in the order it made them, with rising versions.
    for (const parity of [0, 1]) {
      const own = results.filter((_, i) => i % 2 === parity).map((s) => s.version);
      expect(own).toEqual([...own].sort((x, y) => x - y));
    }
    const all = Array.from({ length: 501 }, (_, i) => i + 1);
    await expect.poll(() => heardA.length).toBe(501);
    await expect.poll(() => heardB.length).toBe(501);
    expect(heardA).toEqual(all);
    expect(heardB).toEqual(all);
  });

  it('tells the other instance of a change, without the session body (the writer hears it with its own)', async () => {
    const a = await stores.make();
    const b = await stores.make({ prefix: a.keys.prefix });
    const heard: StoreChange[] = [];
    const heardByWriter: StoreChange[] = [];
    b.subscribe((c) => heard.push(c));
    a.subscribe((c) => heardByWriter.push(c));
    const session = fresh();
    await a.create(session);
    const written = await a.update(session.id, (s) => ({ ...s, version: s.version + 1, cancelRequested: true }));
    await expect.poll(() => heard.length).toBe(2);
    expect(heard[1]).toEqual({ id: session.id, version: 2, cancelRequested: true });
    await expect.poll(() => heardByWriter.length).toBe(2);
    expect(heardByWriter[1]?.session).toBe(written);
    await a.delete(session.id);
    await expect
      .poll(() => heard.at(-1))
      .toEqual({ id: session.id, version: 0, cancelRequested: false, deleted: true });
  });

  it('keeps apps apart: another prefix neither lists, reads nor hears this one', async () => {
    const a = await stores.make();
    const other = await stores.make();
    const heard: StoreChange[] = [];
    other.subscribe((c) => heard.push(c));
    const session = fresh();
    await a.create(session);
    expect(await other.get(session.id)).toBeUndefined();
    expect((await other.list({ limit: 10 })).sessions).toEqual([]);
    await a.update(session.id, log('x'));
    expect(await a.list({ limit: 10 })).toMatchObject({ sessions: [{ id: session.id }] });
    expect(heard).toEqual([]);
  });

  it('lets Redis expire the session itself (PTTL), renewed on every write', async () => {
    const store = await stores.make();
    const session = fresh({ tasks: { a: 'A' }, ttlSeconds: 60 });
    await store.create(session);
    const key = store.keys.session(session.id);
    const retention = retentionMs(session, Date.now());
    const first = await look.pTTL(key);
    expect(first).toBeGreaterThan(retention - 2_000);
    expect(first).toBeLessThanOrEqual(retention);
    const done = await store.update(session.id, (s) =>
      applyEvents(s, [{ type: 'error', message: 'boom' }], Date.now()),
    );
    // Ended: kept ttlSeconds from now, no longer deadAfterMs + ttlSeconds.
    const after = await look.pTTL(key);
    expect(after).toBeGreaterThan(58_000);
    expect(after).toBeLessThanOrEqual(60_000);
    expect(done.version).toBe(2);
  });

  it('reads back what Keyv’s own serializer would mangle (strings starting with ":")', async () => {
    const store = await stores.make();
    const session = fresh({ title: ':base64:AAAA', tasks: { a: ':a' } });
    await store.create(session);
    await store.update(session.id, log('::two colons'));
    const read = await store.get(session.id);
    expect(read?.title).toBe(':base64:AAAA');
    expect(read?.tasks[0]?.name).toBe(':a');
    expect(read?.logs[0]?.line).toBe('::two colons');
  });

  it('reads a session an earlier version left completing (its bar ramping) as complete, ended then', async () => {
    const store = await stores.make();
    const at = Date.now();
    const done = applyEvents(fresh({ tasks: { a: 'A', b: 'B' } }, at), [{ type: 'complete', task: 'a' }], at);
    // As versions before the truth at once stored it: `completing`, no finishedAt.
    const earlier = {
      ...done,
      finishedAt: null,
      tasks: done.tasks.map((t) => (t.id === 'a' ? { ...t, status: 'completing' } : t)),
    } as unknown as StoredSession;
    await store.create(earlier);
    expect((await store.get(earlier.id))?.tasks.map((t) => t.status)).toEqual(['complete', 'pending']);
    expect((await store.get(earlier.id))?.finishedAt).toBeNull();
    const ended = { ...earlier, id: randomUUID(), tasks: earlier.tasks.map((t) => ({ ...t, status: 'completing' })) };
    await store.create(ended as unknown as StoredSession);
    expect(await store.get(ended.id)).toMatchObject({
      tasks: [{ status: 'complete' }, { status: 'complete' }],
      finishedAt: at,
    });
  });

  it('pages through sessions created in the same millisecond, each exactly once', async () => {
    const store = await stores.make();
    const at = Date.now();
    const ids = new Set<string>();
    for (let i = 0; i < 7; i++) {
      const s = fresh({ tasks: { a: 'A' }, owner: 'ann' }, at);
      ids.add(s.id);
      await store.create(s);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await store.list({ owner: 'ann', limit: 2, cursor });
      seen.push(...page.sessions.map((s) => s.id));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(ids);
    expect((await store.list({ owner: null, limit: 10 })).sessions).toEqual([]);
  });

  it('does not let the index grow: entries of expired sessions are pruned by the periodic purge', async () => {
    const store = await stores.make({ purgeIntervalMs: 100 });
    const { keys } = store;
    for (let i = 0; i < 30; i++) {
      const s = applyEvents(
        fresh({ tasks: { a: 'A' }, ttlSeconds: 1, owner: `o${i % 3}` }),
        [{ type: 'cancelled' }],
        Date.now(),
      );
      await store.create(s);
      await store.update(s.id, (x) => ({ ...x, version: x.version + 1 }));
    }
    const kept = fresh({ tasks: { a: 'A' }, owner: 'o0' });
    await store.create(kept);
    expect(await look.zCard(keys.all)).toBe(31);
    await expect
      .poll(async () => [await look.zCard(keys.all), await look.zCard(keys.expiry), await look.hLen(keys.owners)], {
        timeout: 4_000,
        interval: 100,
      })
      .toEqual([1, 1, 1]);
    expect(await look.zCard(keys.owner('o1'))).toBe(0);
    expect(await look.zRange(keys.owner('o0'), 0, -1)).toEqual([kept.id]);
    expect((await store.list({ limit: 100 })).sessions.map((s) => s.id)).toEqual([kept.id]);
  });

  it('purges sessions older than a max age, in batches, and tells listeners they are gone', async () => {
    const store = await stores.make();
    const heard: StoreChange[] = [];
    store.subscribe((c) => heard.push(c));
    const old = Date.now() - 3_600_000;
    const olds: string[] = [];
    for (let i = 0; i < 450; i++) {
      // Created an hour ago, kept alive by heartbeats: the TTL alone would never remove it.
      const s = { ...fresh({ tasks: { a: 'A' }, owner: 'ann' }, old + i), lastEventAt: Date.now() };
      olds.push(s.id);
      await store.create(s);
    }
    const young = fresh({ tasks: { a: 'A' }, owner: 'ann' });
    await store.create(young);
    expect(await store.purge(60_000)).toBe(450);
    expect(await store.get(olds[0]!)).toBeUndefined();
    expect(await store.get(young.id)).toBeDefined();
    expect((await store.list({ owner: 'ann', limit: 1000 })).sessions.map((s) => s.id)).toEqual([young.id]);
    expect(await look.zCard(store.keys.all)).toBe(1);
    await expect.poll(() => heard.filter((c) => c.deleted).length).toBe(450);
  });

  it('answers ping, and delete removes the index entries too', async () => {
    const store = await stores.make();
    await expect(store.ping()).resolves.toBeUndefined();
    const s = fresh({ tasks: { a: 'A' }, owner: 'bob' });
    await store.create(s);
    expect(await store.delete(s.id)).toBe(true);
    expect(await store.delete(s.id)).toBe(false);
    expect(await look.zCard(store.keys.all)).toBe(0);
    expect(await look.zCard(store.keys.owner('bob'))).toBe(0);
    expect(await look.exists(store.keys.session(s.id))).toBe(0);
  });

  it('renews a held child’s own key to its parent’s time left (its own writes never shorten it), and removes it once its parent has gone', async () => {
    const clock = manualClock();
    const store = await stores.make({ now: clock.now, purgeIntervalMs: 60_000 });
    const parent = fresh({ expectedChildren: 1, ttlSeconds: 60 }, clock.now());
    const child = applyEvents(
      fresh({ parent: parent.id, ttlSeconds: 10 }, clock.now()),
      [{ type: 'cancelled' }],
      clock.now(),
    );
    await store.create(parent);
    await store.create(child);
    const pttl = (id: string) => look.pTTL(store.keys.session(id));
    // Its own 10 s and a hold of 60 s + two purge rounds, so the prune finds it before Redis drops it.
    expect(await pttl(child.id)).toBeGreaterThan(170_000);
    expect(await pttl(child.id)).toBeLessThanOrEqual(190_000);
    clock.advance(60_000);
    await store.purge();
    expect(await pttl(child.id)).toBeGreaterThanOrEqual(await pttl(parent.id));
    // A write of its own (whatever it is: an ended session takes no event) does not shorten it.
    await store.update(child.id, (s) => ({ ...s, version: s.version + 1 }));
    expect(await pttl(child.id)).toBeGreaterThanOrEqual(await pttl(parent.id));
    expect(await look.zScore(store.keys.expiry, child.id)).toBeLessThanOrEqual(
      (await look.zScore(store.keys.expiry, parent.id))!,
    );
    // The parent written on (its entry raised), then its key gone — Redis's clock is not the test's, so
    // unlinked by hand, its entry left as an expiry would — and the child's entry due: the child goes.
    clock.advance(4 * 60_000);
    await store.update(parent.id, log('alive'));
    await look.unlink(store.keys.session(parent.id));
    clock.advance(8 * 60_000);
    expect(await look.zScore(store.keys.expiry, child.id)).toBeLessThan(clock.now());
    expect(await look.zScore(store.keys.expiry, parent.id)).toBeGreaterThan(clock.now());
    const deleted: string[] = [];
    store.subscribe((change) => {
      if (change.deleted) deleted.push(change.id);
    });
    await store.purge();
    expect(await look.exists(store.keys.session(child.id))).toBe(0);
    expect(await look.zScore(store.keys.expiry, child.id)).toBeNull();
    await expect.poll(() => deleted).toContain(child.id);
  });
});
