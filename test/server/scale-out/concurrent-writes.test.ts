/**
 * Two servers on one Redis, event batches posted to one session at once, half
 * to each: nothing lost, every batch its own version. (200 here, through HTTP
 * with both servers and the client in one process; the store-level test in
 * test/server/store/redis-store.test.ts fires 500.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../../protocol/index.ts';
import { redis } from '../../support/requirements.ts';
import type { TestServer } from '../../support/server.ts';
import { type Cluster, createOn, report, startCluster } from './scale-out-helpers.ts';

const req = await redis();

describe.skipIf(!req.available)('concurrent writes through two instances', () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('applies all of 200 batches posted at once to two instances, each with its own version', async () => {
    cluster = await startCluster(2);
    const [a, b] = cluster.servers as [TestServer, TestServer];
    const session = await createOn(a, { tasks: { t: 'T' } });
    expect((await report(b, session, [{ type: 'start', task: 't' }])).status).toBe(200);

    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        report(i % 2 ? a : b, session, [{ type: 'log', line: `line ${i}` }], 15_000),
      ),
    );
    expect(answers.filter((x) => x.status !== 200)).toEqual([]);
    const versions = answers.map((x) => (x.body as { version: number }).version).sort((x, y) => x - y);
    expect(versions).toEqual(Array.from({ length: 200 }, (_, i) => i + 3));

    const response = await fetch(`${b.url}/sessions/${session.id}`, {
      headers: { Authorization: `Bearer ${session.viewerToken}` },
    });
    const snapshot = (await response.json()) as Snapshot;
    expect(snapshot.version).toBe(202);
    expect(snapshot.logs.map((l) => l.line).sort()).toEqual(Array.from({ length: 200 }, (_, i) => `line ${i}`).sort());
    expect(snapshot.logs.map((l) => l.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });
});
