/**
 * The truth at once (docs/protocol.md): the batch that completes the last
 * task ends the session in that same update, so a read, a stream line and
 * the list right after it all say `complete` at 100, with `finishedAt`, and
 * the finish hooks are told. The closing ramp to 100 is the view's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot } from '../../../protocol/index.ts';
import type { LiveopOptions } from '../../../server/liveop.ts';
import { bearer, openStream, post } from '../../support/ndjson-client.ts';
import { redis } from '../../support/requirements.ts';
import { startServer, type TestServer } from '../../support/server.ts';
import { storeFactory } from '../store/redis-helpers.ts';

const req = await redis();
const stores = storeFactory();
const STORES: [string, () => Promise<Partial<LiveopOptions>>, boolean][] = [
  ['memory', async () => ({}), true],
  ['Redis', async () => ({ store: await stores.make() }), req.available],
];

describe.each(STORES)('a session completed on the %s store', (_, options, available) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await stores.cleanup();
  });

  it.skipIf(!available)('reads, streams and lists complete at 100 right after the completing batch', async () => {
    const told: Snapshot[] = [];
    server = await startServer({ ...(await options()), onFinish: (snapshot) => void told.push(snapshot) });
    const created = (await post(`${server.url}/sessions`, { title: 'Load', tasks: { load: 'Load rows' } }))
      .body as CreatedSession;
    const send = (events: object[]) => post(`${created.snapshotUrl}/events`, events, bearer(created.reporterToken));
    await send([{ type: 'steps', task: 'load', done: 10, total: 50 }]);
    const stream = await openStream(`${created.streamUrl}?token=${created.viewerToken}`);
    await stream.waitFor((line) => line.type === 'snapshot' && line.status === 'running');

    const answer = await send([
      { type: 'steps', task: 'load', done: 50, total: 50 },
      { type: 'result', data: { rows: 50 } },
      { type: 'complete', task: 'load' },
    ]);
    expect(answer.status).toBe(200);
    const version = (answer.body as { version: number }).version;

    const read = (await (await fetch(`${created.snapshotUrl}?token=${created.viewerToken}`)).json()) as Snapshot;
    expect(read).toMatchObject({ version, status: 'complete', percent: 100, etaMs: 0, result: { rows: 50 } });
    expect(read.tasks).toMatchObject([{ id: 'load', status: 'complete', percent: 100 }]);
    expect(read.finishedAt).not.toBeNull();

    const listed = (await (await fetch(`${server.url}/sessions?status=complete`)).json()) as { sessions: Snapshot[] };
    expect(listed.sessions.find((s) => s.id === created.id)).toMatchObject({
      status: 'complete',
      percent: 100,
      finishedAt: read.finishedAt,
    });

    // The first line with the completing batch is the last: no `running` at 99 on the way.
    const line = (await stream.waitFor((l) => l.type === 'snapshot' && l.version >= version)) as Snapshot;
    expect(line).toMatchObject({ status: 'complete', percent: 100, finishedAt: read.finishedAt });
    expect(line.tasks).toMatchObject([{ status: 'complete', percent: 100 }]);
    await stream.ended;
    expect(stream.snapshots().at(-1)).toEqual(line);

    const refused = await send([{ type: 'log', line: 'late' }]);
    expect(refused.status).toBe(409);
    await expect.poll(() => told.length).toBe(1);
    expect(told[0]).toMatchObject({ id: created.id, status: 'complete', percent: 100, finishedAt: read.finishedAt });
  });
});
