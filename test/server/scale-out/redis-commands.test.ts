/**
 * Redis work grows with changes and instances, never with viewers: counted
 * with INFO commandstats on a redis-server of the test's own (so nothing else
 * is counted), for 3 viewers and then 200 viewers on three instances.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession } from '../../../protocol/index.ts';
import { redisBinaries } from '../../support/requirements.ts';
import type { TestServer } from '../../support/server.ts';
import { inspector, ThrowawayRedis } from '../store/redis-helpers.ts';
import { type Cluster, createOn, report, startCluster, Viewer } from './scale-out-helpers.ts';

const req = redisBinaries('Redis command count');

/** Calls per command since the server started (INFO itself left out). */
async function commandCounts(url: string): Promise<Map<string, number>> {
  const client = await inspector(url);
  try {
    const info = await client.info('commandstats');
    const counts = new Map<string, number>();
    for (const [, name, calls] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      if (name !== 'info') counts.set(name!, Number(calls));
    }
    return counts;
  } finally {
    await client.close();
  }
}

function difference(after: Map<string, number>, before: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, calls] of after) {
    const grown = calls - (before.get(name) ?? 0);
    if (grown > 0) out[name] = grown;
  }
  return out;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

describe.skipIf(!req.available)('Redis commands with many viewers', () => {
  let redis: ThrowawayRedis | undefined;
  let cluster: Cluster | undefined;
  let viewers: Viewer[] = [];
  afterEach(async () => {
    for (const viewer of viewers) viewer.close();
    viewers = [];
    await cluster?.close();
    await redis?.kill();
    cluster = undefined;
    redis = undefined;
  });

  /** Opens `count` viewers spread over the servers, starts the session, makes `changes` changes; counts the commands they cost. */
  async function measure(servers: TestServer[], count: number, changes: number): Promise<Record<string, number>> {
    const session: CreatedSession = await createOn(servers[0]!, { tasks: { t: 'T' } });
    await report(servers[0]!, session, [{ type: 'start', task: 't' }]);
    const watching: Viewer[] = [];
    for (let i = 0; i < count; i++) watching.push(await Viewer.open(servers[i % servers.length]!, session));
    viewers.push(...watching);
    await expect.poll(() => watching.every((v) => v.snapshots.length > 0), { timeout: 8_000 }).toBe(true);
    const before = await commandCounts(redis!.url);
    for (let i = 1; i <= changes; i++) {
      const answer = await report(servers[i % servers.length]!, session, [{ type: 'log', line: `line ${i}` }]);
      expect(answer.status).toBe(200);
    }
    await expect
      .poll(() => watching.every((v) => v.snapshots.at(-1)?.logSeq === changes), { timeout: 8_000, interval: 50 })
      .toBe(true);
    const after = await commandCounts(redis!.url);
    for (const viewer of watching) viewer.close();
    return difference(after, before);
  }

  it('costs the same Redis commands per change for 200 viewers as for 3', async () => {
    redis = await ThrowawayRedis.start();
    cluster = await startCluster(3, { url: redis.url });
    const changes = 20;
    const few = await measure(cluster.servers, 3, changes);
    const many = await measure(cluster.servers, 200, changes);
    if (process.env.LIVEOP_PRINT_COUNTS) console.log({ changes, few, many });
    // Per change: the events route's read, the update (read, EVALSHA of the compare-and-set that runs
    // GET, SET, PUBLISH; ZADD of the expiry index) and one read per other instance watching (the writer's
    // own notification carries the session): 9 with 3 instances.
    const instances = cluster.servers.length;
    expect(total(few)).toBeLessThanOrEqual(changes * (7 + instances - 1) + 5);
    expect(total(many)).toBeLessThanOrEqual(total(few) + 5);
    expect(many.get ?? 0).toBeLessThanOrEqual(changes * (3 + instances - 1) + 5);
  });
});
