/**
 * `GET /sessions` as a list page uses it (liveops' list view,
 * django-user-tasks' admin list): filtered by status and a title search,
 * page by page, on the memory store and on Redis.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot } from '../../../protocol/index.ts';
import type { LiveopOptions } from '../../../server/liveop.ts';
import { bearer, post } from '../../support/ndjson-client.ts';
import { redis } from '../../support/requirements.ts';
import { startServer, type TestServer } from '../../support/server.ts';
import { storeFactory } from '../store/redis-helpers.ts';

const req = await redis();
const stores = storeFactory();
const STORES: [string, () => Promise<Partial<LiveopOptions>>, boolean][] = [
  ['memory', async () => ({}), true],
  ['Redis', async () => ({ store: await stores.make() }), req.available],
];

describe.each(STORES)('listing sessions on the %s store', (_, options, available) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await stores.cleanup();
  });

  it.skipIf(!available)('filters by status and by a title search, and pages through what matches', async () => {
    server = await startServer({ ...(await options()) });
    const made: CreatedSession[] = [];
    for (const title of ['Import shoes', 'Import hats', 'Export shoes', 'Import socks', 'Import coats']) {
      made.push((await post(`${server.url}/sessions`, { title, tasks: { a: 'A' } })).body);
      await new Promise((resolve) => setTimeout(resolve, 3)); // newest first: each a millisecond apart at least
    }
    const send = (i: number, events: object[]) =>
      post(`${made[i]!.snapshotUrl}/events`, events, bearer(made[i]!.reporterToken));
    await send(0, [{ type: 'start', task: 'a' }]);
    await send(1, [{ type: 'complete', task: 'a' }]);
    await send(3, [{ type: 'start', task: 'a' }]);
    const titles = async (query: string) =>
      (await (await fetch(`${server!.url}/sessions?${query}`)).json()) as {
        sessions: Snapshot[];
        cursor: string | null;
      };
    expect((await titles('status=running')).sessions.map((s) => s.title)).toEqual(['Import socks', 'Import shoes']);
    expect((await titles('status=complete,pending')).sessions.map((s) => s.title)).toEqual([
      'Import coats',
      'Export shoes',
      'Import hats',
    ]);
    expect((await titles('q=SHOES')).sessions.map((s) => s.title)).toEqual(['Export shoes', 'Import shoes']);
    const first = await titles('q=import&limit=2');
    expect(first.sessions.map((s) => s.title)).toEqual(['Import coats', 'Import socks']);
    const second = await titles(`q=import&limit=2&cursor=${encodeURIComponent(first.cursor!)}`);
    expect(second.sessions.map((s) => s.title)).toEqual(['Import hats', 'Import shoes']);
    // A next page only when something more matches: none after the last match, though older sessions exist.
    expect(second.cursor).toBeNull();
    expect((await titles('q=coats&limit=1')).cursor).toBeNull();
    // Each entry can be opened live by a list page: its stream URL and a view-only token.
    const [entry] = (await titles('q=coats')).sessions as (Snapshot & { streamUrl: string; viewerToken: string })[];
    expect(entry!.streamUrl).toBe(made[4]!.streamUrl);
    const opened = await fetch(`${entry!.streamUrl}?token=${entry!.viewerToken}`);
    expect(opened.status).toBe(200);
    await opened.body?.cancel();
    const cancel = await fetch(`${server.url}/sessions/${entry!.id}/cancel?token=${entry!.viewerToken}`, {
      method: 'POST',
    });
    expect(cancel.status).toBe(403); // view-only
    const refused = await fetch(`${server.url}/sessions?status=sleeping`);
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.message).toMatch(/^query\.status: /);
  });
});

describe('list entries', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("name the operation a session was started as (what a list may restart), and nothing for a reporter's own", async () => {
    server = await startServer();
    server.liveop.operation('nightly-export', { run: () => {} });
    const started = await post(`${server.url}/operations/nightly-export`, {});
    expect(started.status).toBe(201);
    const plain = await post(`${server.url}/sessions`, { title: 'Reported' });
    const { sessions } = (await (await fetch(`${server.url}/sessions`)).json()) as {
      sessions: { id: string; operation?: string }[];
    };
    const operationOf = (id: string) => sessions.find((s) => s.id === id) ?? null;
    expect(operationOf(started.body.id)).toMatchObject({ operation: 'nightly-export' });
    expect(operationOf(plain.body.id)).not.toHaveProperty('operation');
  });
});

describe('tags', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('are kept as created and shown in the snapshot, its stream and the list; past the limits they are refused', async () => {
    server = await startServer();
    const tags = { batch: 'b1', customer: 'Acme Inc.' };
    const made: CreatedSession = (await post(`${server.url}/sessions`, { title: 'Tagged', tags })).body;
    expect(((await (await fetch(made.snapshotUrl)).json()) as Snapshot).tags).toEqual(tags);
    const listed = (await (await fetch(`${server.url}/sessions`)).json()) as { sessions: Snapshot[] };
    expect(listed.sessions.find((s) => s.id === made.id)?.tags).toEqual(tags);
    const untagged: CreatedSession = (await post(`${server.url}/sessions`, { title: 'Plain' })).body;
    expect((await (await fetch(untagged.snapshotUrl)).json()) as Snapshot).not.toHaveProperty('tags');

    const refused = async (body: object) => {
      const answer = await post(`${server!.url}/sessions`, body);
      expect(answer.status).toBe(400);
      return (answer.body as { error: { message: string } }).error.message;
    };
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v']));
    expect(await refused({ tags: many })).toMatch(/^tags: at most 20 tags/);
    expect(await refused({ tags: { 'a:b': 'v' } })).toMatch(/^tags/);
    expect(await refused({ tags: { k: 'v'.repeat(201) } })).toMatch(/^tags\.k: /);
    expect(await refused({ tags: { k: '' } })).toMatch(/^tags\.k: /);
    expect(await refused(JSON.parse('{"tags":{"__proto__":"x"}}'))).toMatch(/"__proto__" is not a tag/);
  });
});
