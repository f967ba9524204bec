/**
 * The store on a real Redis Cluster (three throwaway masters made with
 * redis-cli): the same contract, two instances, and a node restarted empty.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyEvents, createSession, type StoredSession } from '../../../server/core/session';
import type { StoreChange } from '../../../server/store/session-store';
import { storeContract } from './contract';
import { storeFactory, ThrowawayCluster } from './redis-helpers';

const tools = ['redis-server', 'redis-cli'].every((tool) => spawnSync(tool, ['--version']).status === 0);
if (!tools && process.env.CI === 'true') throw new Error('redis-server and redis-cli are required under CI=true');
if (!tools) console.warn('skipped: Redis Cluster tests (no redis-server or redis-cli)');

const log = (line: string) => (s: StoredSession) => applyEvents(s, [{ type: 'log', line }], Date.now());

describe.skipIf(!tools)('the Redis store on a Redis Cluster', () => {
  let cluster: ThrowawayCluster;
  let stores: ReturnType<typeof storeFactory>;
  beforeAll(async () => {
    cluster = await ThrowawayCluster.start();
    stores = storeFactory(cluster.url);
  });
  afterEach(() => stores.cleanup());
  afterAll(() => cluster?.stop());

  storeContract('redis cluster', () => stores.make());

  it('spreads sessions over the nodes and loses no update of two instances, each hearing every version in order', async () => {
    const a = await stores.make();
    const b = await stores.make({ prefix: a.keys.prefix });
    const heard: StoreChange[] = [];
    b.subscribe((c) => heard.push(c));
    const sessions = Array.from({ length: 6 }, () => createSession(randomUUID(), { tasks: { t: 'T' } }, Date.now()));
    for (const s of sessions) await a.create(s);
    await Promise.all(
      sessions.flatMap((s) => Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).update(s.id, log(`line ${i}`)))),
    );
    for (const s of sessions) {
      expect((await a.get(s.id))?.version).toBe(41);
      await expect
        .poll(() => heard.filter((c) => c.id === s.id).map((c) => c.version))
        .toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    }
    expect((await a.list({ limit: 10 })).sessions).toHaveLength(6);
    expect(await a.purge(0)).toBe(6);
    await expect.poll(() => heard.filter((c) => c.deleted).length).toBe(6);
  });
});
