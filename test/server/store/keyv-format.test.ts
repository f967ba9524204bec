/**
 * The Redis store writes sessions with Lua and reads them with Keyv
 * (server/store/keyv-format.ts): these tests hold the two to one format, so a
 * Keyv upgrade that changes its key or its envelope fails here.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClientType } from '@keyv/redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSession, type StoredSession } from '../../../server/core/model.ts';
import { applyEvents } from '../../../server/core/reducer.ts';
import { sessionKeyv } from '../../../server/store/keyv-format.ts';
import { redis } from '../../support/requirements.ts';
import { inspector, storeFactory } from './redis-helpers.ts';

const req = await redis();

describe.skipIf(!req.available)('sessions in Keyv’s format, written without Keyv', () => {
  const stores = storeFactory();
  let look: RedisClientType;
  beforeAll(async () => {
    look = await inspector();
  });
  afterEach(() => stores.cleanup());
  afterAll(() => look?.close());

  const fresh = () => createSession(randomUUID(), { title: ':base64:AAAA', tasks: { a: 'A' } }, Date.now());
  const log = (line: string) => (s: StoredSession) => applyEvents(s, [{ type: 'log', line }], Date.now());

  it('a session the store’s scripts wrote is read back by a Keyv of its own, with get and getMany', async () => {
    const store = await stores.make();
    const session = fresh();
    await store.create(session);
    const updated = await store.update(session.id, log('::two colons'));
    const keyv = sessionKeyv(look, store.keys.sessionNamespace);
    expect(await keyv.get(session.id)).toEqual(updated);
    expect(await keyv.getMany([session.id, 'missing'])).toEqual([updated, undefined]);
    // The envelope has no `expires`: Keyv's read deletes nothing, and only Redis's own expiry counts.
    expect(await look.exists(store.keys.session(session.id))).toBe(1);
    expect(await look.pTTL(store.keys.session(session.id))).toBeGreaterThan(0);
  });

  it('a session Keyv’s set wrote is at the key the scripts write, and the store reads and deletes it', async () => {
    const store = await stores.make();
    const keyv = sessionKeyv(look, store.keys.sessionNamespace);
    const session = fresh();
    await keyv.set(session.id, session, 60_000);
    const raw = await look.get(store.keys.session(session.id));
    expect(JSON.parse(raw ?? 'null')).toMatchObject({ value: session });
    expect(await store.get(session.id)).toEqual(session);
    expect((await store.list({ limit: 10 })).sessions).toEqual([]); // Keyv does not index
    expect(await store.delete(session.id)).toBe(true);
    expect(await keyv.get(session.id)).toBeUndefined();
  });

  it('refuses to update a session whose value lacks the version in front, rather than overwrite it', async () => {
    const store = await stores.make();
    const keyv = sessionKeyv(look, store.keys.sessionNamespace);
    const session = fresh();
    await keyv.set(session.id, session);
    await expect(store.update(session.id, log('x'))).rejects.toThrow('in a format this server cannot update');
    expect(await keyv.get(session.id)).toEqual(session);
  });
});
