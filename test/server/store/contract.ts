/**
 * The store contract: every SessionStore implementation passes this suite
 * (Keyv's own test-suite habit). Call it from a `*.test.ts` per store.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { LiveopError } from '../../../server/core/errors.ts';
import { createSession } from '../../../server/core/model.ts';
import { applyEvents } from '../../../server/core/reducer.ts';
import { applyChildChange, childState } from '../../../server/core/rollup.ts';
import { SessionNotFound, type SessionStore, type StoreChange } from '../../../server/store/session-store.ts';
import { manualClock } from '../../support/clock.ts';

/** Makes a store; `now` is its clock when the test passes one. */
export type MakeStore = (options?: { now?: () => number }) => Promise<SessionStore>;

export function storeContract(name: string, makeStore: MakeStore): void {
  describe(`${name} store contract`, () => {
    const fresh = (input: Parameters<typeof createSession>[1] = { tasks: { a: 'A' } }) =>
      createSession(randomUUID(), input, Date.now());

    it('reads back what it stored, and reading never deletes', async () => {
      const store = await makeStore();
      const session = fresh({ title: 'T', tasks: { a: 'A' } });
      await store.create(session);
      expect((await store.get(session.id))?.title).toBe('T');
      expect((await store.get(session.id))?.title).toBe('T');
      expect(await store.get('missing')).toBeUndefined();
      await store.close();
    });

    it('loses no update when 200 come at once, and versions rise by one each', async () => {
      const store = await makeStore();
      const session = fresh();
      await store.create(session);
      const versions = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          store
            .update(session.id, (s) => applyEvents(s, [{ type: 'log', line: `line ${i}` }], Date.now()))
            .then((s) => s.version),
        ),
      );
      const final = await store.get(session.id);
      expect(final?.logs).toHaveLength(200);
      expect(final?.version).toBe(201);
      expect(new Set(versions).size).toBe(200);
      await store.close();
    });

    it('writes nothing when the change refuses', async () => {
      const store = await makeStore();
      const session = fresh();
      await store.create(session);
      await expect(
        store.update(session.id, () => {
          throw new LiveopError('conflict', 'no');
        }),
      ).rejects.toThrow('no');
      expect((await store.get(session.id))?.version).toBe(1);
      await expect(store.update('missing', (s) => s)).rejects.toBeInstanceOf(SessionNotFound);
      await store.close();
    });

    it('tells subscribers of every change and of deletion', async () => {
      const store = await makeStore();
      const heard: StoreChange[] = [];
      const unsubscribe = store.subscribe((change) => heard.push(change));
      const session = fresh();
      await store.create(session);
      await store.update(session.id, (s) => applyEvents(s, [{ type: 'start', task: 'a' }], Date.now()));
      expect(await store.delete(session.id)).toBe(true);
      await expect.poll(() => heard.length).toBe(3);
      expect(heard.map((c) => [c.version, c.deleted ?? false])).toEqual([
        [1, false],
        [2, false],
        [0, true],
      ]);
      expect(await store.get(session.id)).toBeUndefined();
      unsubscribe();
      await store.close();
    });

    it('lists an owner’s sessions newest first, page by page; no owner lists all', async () => {
      const store = await makeStore();
      const t = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const s = createSession(randomUUID(), { tasks: { a: 'A' }, owner: 'ann' }, t + i);
        ids.push(s.id);
        await store.create(s);
      }
      await store.create(createSession(randomUUID(), { tasks: { a: 'A' }, owner: 'bob' }, t + 10));
      const first = await store.list({ owner: 'ann', limit: 3 });
      const second = await store.list({ owner: 'ann', limit: 3, cursor: first.cursor });
      expect(first.sessions.map((s) => s.id)).toEqual(ids.slice(2).reverse());
      expect(second.sessions.map((s) => s.id)).toEqual(ids.slice(0, 2).reverse());
      expect(second.cursor).toBeNull();
      expect((await store.list({ limit: 100 })).sessions.length).toBeGreaterThanOrEqual(6);
      await store.close();
    });

    it('purges sessions created longer ago than the max age, whatever their TTL, and tells subscribers', async () => {
      const store = await makeStore();
      const hour = 3_600_000;
      const old = createSession(randomUUID(), { tasks: { a: 'A' }, ttlSeconds: 86_400 }, Date.now() - 2 * hour);
      const fresh = createSession(randomUUID(), { tasks: { a: 'A' }, ttlSeconds: 86_400 }, Date.now());
      await store.create(old);
      await store.create(fresh);
      const deleted: string[] = [];
      const stop = store.subscribe((change) => {
        if (change.deleted) deleted.push(change.id);
      });
      expect(await store.purge!(hour)).toBeGreaterThanOrEqual(1);
      expect(await store.get(old.id)).toBeUndefined();
      expect(await store.get(fresh.id)).toBeDefined();
      await expect.poll(() => deleted).toContain(old.id);
      expect(deleted).not.toContain(fresh.id);
      stop();
      await store.close();
    });

    it('reads at most readMost sessions for a filtered page, and its cursor goes on from there', async () => {
      const store = await makeStore();
      const owner = `carol-${randomUUID()}`;
      const t = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const s = createSession(randomUUID(), { tasks: { a: 'A' }, owner, title: i === 1 ? 'wanted' : 'other' }, t + i);
        ids.push(s.id);
        await store.create(s);
      }
      let read = 0;
      const filter = (s: { title: string }) => {
        read += 1;
        return s.title === 'wanted';
      };
      const pages: string[][] = [];
      let cursor: string | null = null;
      do {
        read = 0;
        const page = await store.list({ owner, limit: 5, cursor, filter, readMost: 5 });
        expect(read).toBeLessThanOrEqual(5);
        pages.push(page.sessions.map((s) => s.id));
        cursor = page.cursor;
      } while (cursor !== null && pages.length < 10);
      // Newest first, five read a call: two empty pages, then the one match, then nothing more.
      expect(pages.flat()).toEqual([ids[1]]);
      expect(pages[0]).toEqual([]);
      expect(pages.length).toBeGreaterThanOrEqual(3);
      expect(pages.length).toBeLessThanOrEqual(4);
      await store.close();
    });

    it('lists a parent’s children from its own index, newest first, page by page, and forgets them when purged', async () => {
      const store = await makeStore();
      const t = Date.now();
      const parent = createSession(randomUUID(), { expectedChildren: 3, owner: 'ann' }, t);
      await store.create(parent);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const child = createSession(randomUUID(), { parent: parent.id, owner: 'ann' }, t + 1 + i);
        ids.push(child.id);
        await store.create(child);
      }
      await store.create(createSession(randomUUID(), { owner: 'ann' }, t + 10));
      const first = await store.list({ parent: parent.id, owner: 'ann', limit: 2 });
      const second = await store.list({ parent: parent.id, owner: 'ann', limit: 2, cursor: first.cursor });
      expect([...first.sessions, ...second.sessions].map((s) => s.id)).toEqual(ids.slice().reverse());
      expect(second.cursor).toBeNull();
      expect((await store.list({ parent: parent.id, owner: 'bob', limit: 10 })).sessions).toEqual([]);
      await store.delete(ids[0]!);
      expect((await store.list({ parent: parent.id, limit: 10 })).sessions.map((s) => s.id)).toEqual(
        ids.slice(1).reverse(),
      );
      await store.close();
    });

    it('counts 100 children’s changes in their parent at once, none lost', async () => {
      const store = await makeStore();
      const now = Date.now();
      const parent = createSession(randomUUID(), { expectedChildren: 100 }, now);
      await store.create(parent);
      const children = Array.from({ length: 100 }, () => createSession(randomUUID(), { parent: parent.id }, now));
      const roll = (from: Parameters<typeof applyChildChange>[1], to: Parameters<typeof applyChildChange>[2]) =>
        store.update(parent.id, (p) => applyChildChange(p, from, to, Date.now()));
      await Promise.all(children.map((c) => roll(null, childState(c, now))));
      await Promise.all(
        children.map((c, i) => {
          const events =
            i % 2
              ? [{ type: 'complete' as const, task: 'main' }]
              : [{ type: 'percent' as const, task: 'main', value: 40 }];
          return roll(childState(c, now), childState(applyEvents(c, events, now), now));
        }),
      );
      const read = await store.get(parent.id);
      expect(read?.children).toMatchObject({
        expected: 100,
        total: 100,
        pending: 0,
        running: 50,
        complete: 50,
        sum: 50 * 140,
      });
      expect(read?.version).toBe(201);
      await store.close();
    });

    it('keeps a child that ended early while its parent is kept, and lets it go with its parent', async () => {
      const clock = manualClock();
      const store = await makeStore({ now: clock.now });
      const t0 = clock.now();
      const minute = 60_000;
      const child = (input: Parameters<typeof createSession>[1]) => createSession(randomUUID(), input, t0);
      const parent = child({ expectedChildren: 2, ttlSeconds: 60 });
      const early = applyEvents(child({ parent: parent.id, ttlSeconds: 10 }), [{ type: 'complete', task: 'main' }], t0);
      const late = applyEvents(child({ parent: parent.id, ttlSeconds: 10 }), [{ type: 'start', task: 'main' }], t0);
      for (const s of [parent, early, late]) await store.create(s);
      const children = async () =>
        (await store.list({ parent: parent.id, limit: 10 })).sessions.map((s) => s.id).sort();
      // Past the early child's own 10 s (the parent runs: kept its dead-worker 10 min and 60 s more).
      clock.advance(minute);
      await store.purge!();
      expect((await store.get(early.id))?.id).toBe(early.id);
      expect(await children()).toEqual([early.id, late.id].sort());
      // Renewed again and again while the parent lives on.
      for (let i = 0; i < 3; i++) {
        clock.advance(5 * minute);
        await store.update(parent.id, (p) => applyEvents(p, [{ type: 'log', line: 'alive' }], clock.now()));
        await store.purge!();
      }
      expect(await children()).toEqual([early.id, late.id].sort());
      // The parent gone (its own TTLs passed): its children too, their own TTLs long passed.
      clock.advance(60 * minute);
      await store.purge!();
      expect(await store.get(early.id)).toBeUndefined();
      expect(await store.get(late.id)).toBeUndefined();
      expect(await children()).toEqual([]);
      await store.close();
    });

    it('keeps a child its own TTL, at least, once its parent is deleted', async () => {
      const clock = manualClock();
      const store = await makeStore({ now: clock.now });
      const t0 = clock.now();
      const parent = createSession(randomUUID(), { expectedChildren: 2 }, t0);
      const ended = (ttlSeconds: number) =>
        applyEvents(createSession(randomUUID(), { parent: parent.id, ttlSeconds }, t0), [{ type: 'cancelled' }], t0);
      const [short, long] = [ended(10), ended(3_600)];
      for (const s of [parent, short, long]) await store.create(s);
      clock.advance(60_000);
      await store.purge!();
      expect((await store.get(short.id))?.id).toBe(short.id);
      await store.delete(parent.id);
      // Redis keeps it until it was last kept for (the parent's time left then); memory lets it go now.
      clock.advance(15 * 60_000);
      await store.purge!();
      expect(await store.get(short.id)).toBeUndefined();
      expect((await store.get(long.id))?.id).toBe(long.id);
      expect((await store.list({ parent: parent.id, limit: 10 })).sessions.map((s) => s.id)).toEqual([long.id]);
      await store.close();
    });

    it('forgets a finished session ttlSeconds after its last change', async () => {
      const store = await makeStore();
      const session = applyEvents(fresh({ tasks: { a: 'A' }, ttlSeconds: 1 }), [{ type: 'cancelled' }], Date.now());
      await store.create(session);
      expect(await store.get(session.id)).toBeDefined();
      // Redis keeps the time of its own TTLs: waited for, a second at least.
      await vi.waitFor(async () => expect(await store.get(session.id)).toBeUndefined(), {
        timeout: 5_000,
        interval: 50,
      });
      expect((await store.list({ limit: 100 })).sessions.map((s) => s.id)).not.toContain(session.id);
      await store.close();
    });
  });
}
