/**
 * liveop/client with batches (#24): a parent, children created with its
 * reporter token, tags, and lists by query.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../client/index.ts';
import { startServer, type TestServer } from '../support/server.ts';

const KEY = 'k'.repeat(24);
let server: TestServer;
beforeAll(async () => {
  server = await startServer({ secret: 's'.repeat(32), apiKeys: { [KEY]: { owner: 'ann' } } });
});
afterAll(() => server.close());

describe('a batch through liveop/client', () => {
  it('creates a parent, fans out with its reporter token, and lists the children by parent, tag and status', async () => {
    const client = createClient({ baseUrl: server.url, apiKey: KEY });
    const parent = await client.createSession({ title: 'Batch', expectedChildren: 2, tags: { batch: 'c1' } });
    // A worker that holds only the parent's reporter token.
    const worker = createClient({ baseUrl: server.url });
    const token = parent.reporterToken!;
    const first = await worker.createSession({ title: 'One', parent: parent.id, tags: { batch: 'c1' } }, { token });
    const second = await worker.createSession({ title: 'Two', parent: parent.id, tags: { batch: 'c1' } }, { token });
    first.complete('main');
    await first.close();
    await second.close();

    const children = await client.listSessions({ parent: parent.id });
    expect(children.sessions.map((s) => s.title)).toEqual(['Two', 'One']);
    expect(children.sessions[0]?.parent).toBe(parent.id);
    const done = await client.listSessions({ tags: { batch: 'c1' }, status: ['complete'] });
    expect(done.sessions.map((s) => s.title)).toEqual(['One']);
    const all = await client.listSessions({ tags: { batch: 'c1' }, since: new Date(Date.now() - 60_000), limit: 1 });
    expect(all.sessions).toHaveLength(1);
    expect(all.cursor).not.toBeNull();
    expect((await parent.snapshot()).children).toMatchObject({ expected: 2, total: 2, complete: 1, pending: 1 });
  });
});
