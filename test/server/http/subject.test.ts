/**
 * End users under one key: a session created with a `subject` (a site's
 * user id) is listed by `GET /sessions?subject=`, and the subject is the key
 * holder's to see, never a viewer token's. On the memory store and on Redis.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession } from '../../../protocol/index.ts';
import { bearer, post } from '../../support/ndjson-client.ts';
import { redis } from '../../support/requirements.ts';
import { startServer, type TestServer } from '../../support/server.ts';
import { storeFactory } from '../store/redis-helpers.ts';

const KEY = 'site-key-0123456789abcdef';
const OTHER = 'other-key-0123456789abcdef';
const redisUp = (await redis()).available;
const stores = storeFactory();
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(() => stores.cleanup());

const kinds = [
  { kind: 'memory', store: async () => undefined },
  ...(redisUp ? [{ kind: 'redis', store: () => stores.make() }] : []),
];

describe.each(kinds)('subjects on the $kind store', ({ store }) => {
  async function start() {
    const made = await store();
    server = await startServer({
      apiKeys: { [KEY]: { owner: 'site' }, [OTHER]: { owner: 'other' } },
      ...(made ? { store: made } : {}),
    });
    return server;
  }
  const create = async (url: string, body: object, key = KEY) => {
    const created = await post(`${url}/sessions`, body, bearer(key));
    expect(created.status).toBe(201);
    return created.body as CreatedSession;
  };
  const list = async (url: string, query: string, key = KEY) => {
    const answer = await fetch(`${url}/sessions?${query}`, { headers: bearer(key) });
    return { status: answer.status, body: await answer.json() };
  };

  it("lists one subject's sessions, and shows the subject to the key only", async () => {
    const { url } = await start();
    const ann = await create(url, { title: 'Ann 1', subject: 'user:17' });
    const bob = await create(url, { title: 'Bob 1', subject: 'user:18' });
    const ann2 = await create(url, { title: 'Ann 2', subject: 'user:17' });
    await create(url, { title: 'Other site', subject: 'user:17' }, OTHER);
    const page = await list(url, 'subject=user:17');
    expect(page.status).toBe(200);
    expect(page.body.sessions.map((s: { id: string }) => s.id)).toEqual([ann2.id, ann.id]);
    expect(page.body.sessions[0]).toMatchObject({ subject: 'user:17', owner: 'site' });
    expect((await list(url, 'subject=user:18')).body.sessions.map((s: { id: string }) => s.id)).toEqual([bob.id]);
    expect((await list(url, '')).body.sessions).toHaveLength(3);

    const byKey = await (await fetch(ann.snapshotUrl, { headers: bearer(KEY) })).json();
    expect(byKey.subject).toBe('user:17');
    const byViewer = await (await fetch(ann.snapshotUrl, { headers: bearer(ann.viewerToken) })).json();
    expect(byViewer).not.toHaveProperty('subject');
  });

  it('refuses a subject past its limit, naming the field, and creates nothing', async () => {
    const { url } = await start();
    const refused = await post(`${url}/sessions`, { title: 'Long', subject: 'x'.repeat(129) }, bearer(KEY));
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_body', message: expect.stringContaining('subject') });
    expect((await list(url, '')).body.sessions).toEqual([]);
    const badQuery = await list(url, `subject=${'y'.repeat(129)}`);
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.error.message).toContain('subject');
  });
});
