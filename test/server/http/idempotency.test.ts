/**
 * A reporter that retries a batch after a lost answer sends it again with
 * the same Idempotency-Key: it is applied once — sent again later, sent
 * twice at once, and sent to two instances on one Redis at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot } from '../../../protocol/index.ts';
import { bearer, post } from '../../support/ndjson-client.ts';
import { redis } from '../../support/requirements.ts';
import { startServer, type TestServer } from '../../support/server.ts';
import { type Cluster, createOn, startCluster } from '../scale-out/scale-out-helpers.ts';

const send = (base: string, s: CreatedSession, events: object[], key?: string) =>
  post(`${base}/sessions/${s.id}/events`, events, {
    ...bearer(s.reporterToken),
    ...(key === undefined ? {} : { 'Idempotency-Key': key }),
  });

const snapshot = async (base: string, s: CreatedSession): Promise<Snapshot> =>
  (await fetch(`${base}/sessions/${s.id}`)).json();

describe('idempotent event batches', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('applies a batch sent again with its key once, answering the version it made the first time', async () => {
    server = await startServer();
    const s = (await post(`${server.url}/sessions`, { tasks: { a: 'A' } })).body as CreatedSession;
    const batch = [
      { type: 'log', line: 'row 1' },
      { type: 'steps', task: 'a', done: 1, total: 10 },
    ];
    const first = await send(server.url, s, batch, 'batch-0001');
    await send(server.url, s, [{ type: 'log', line: 'row 2' }], 'batch-0002');
    const again = await send(server.url, s, batch, 'batch-0001');
    expect(first.status).toBe(200);
    expect(again).toMatchObject({ status: 200, body: first.body });
    const after = await snapshot(server.url, s);
    expect(after.logs.map((l) => l.line)).toEqual(['row 1', 'row 2']);
    expect(after.version).toBe(3);
    // Without a key, the same batch is another batch.
    await send(server.url, s, [{ type: 'log', line: 'row 1' }]);
    expect((await snapshot(server.url, s)).logs).toHaveLength(3);
  });

  it('applies once when the same batch arrives ten times at once', async () => {
    server = await startServer();
    const s = (await post(`${server.url}/sessions`, { tasks: { a: 'A' } })).body as CreatedSession;
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => send(server!.url, s, [{ type: 'log', line: 'once' }], 'same-key')),
    );
    expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
    expect((await snapshot(server.url, s)).logs.map((l) => l.line)).toEqual(['once']);
  });

  it('refuses a key that is not printable ASCII, naming the header, and changes nothing', async () => {
    server = await startServer();
    const s = (await post(`${server.url}/sessions`, { tasks: { a: 'A' } })).body as CreatedSession;
    for (const key of ['has space', 'x'.repeat(201)]) {
      const answer = await send(server.url, s, [{ type: 'log', line: 'no' }], key);
      expect(answer.status).toBe(400);
      expect(answer.body.error.message).toMatch(/^Idempotency-Key: /);
    }
    expect((await snapshot(server.url, s)).version).toBe(1);
  });
});

const req = await redis();

describe.skipIf(!req.available)('idempotent event batches on two instances', () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('applies once when the same batch goes to both instances at once, again and again', async () => {
    cluster = await startCluster(2);
    const [a, b] = cluster.servers as [TestServer, TestServer];
    const s = await createOn(a, { tasks: { t: 'T' } });
    for (let i = 0; i < 20; i++) {
      const batch = [{ type: 'log', line: `line ${i}` }];
      const answers = await Promise.all([
        send(a.url, s, batch, `k-${i}`),
        send(b.url, s, batch, `k-${i}`),
        send(b.url, s, batch, `k-${i}`),
      ]);
      expect(answers.map((x) => x.status)).toEqual([200, 200, 200]);
      expect(new Set(answers.map((x) => x.body.version)).size).toBe(1);
    }
    const after = await snapshot(b.url, s);
    expect(after.logs.map((l) => l.line)).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i}`));
    expect(after.version).toBe(21);
  });
});
