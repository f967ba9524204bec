/**
 * What a hostile or careless client sends is refused where it enters — a 400
 * naming the field, nothing stored — and what is stored anyway (by an older
 * version) is served as an error, never taking a request, a stream or the
 * server down with it.
 */
import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CreatedSession, Snapshot, StreamLine } from '../../../protocol/index.ts';
import { bearer, openStream, post } from '../../support/ndjson-client.ts';
import { redis } from '../../support/requirements.ts';
import { startServer, type TestServer } from '../../support/server.ts';
import { storeFactory } from '../store/redis-helpers.ts';

const ANN = 'ann-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ apiKeys: { [ANN]: { owner: 'ann' }, [BOB]: { owner: 'bob' } } });
});
afterAll(() => server.close());

const create = async (body: object, key = ANN) => post(`${server.url}/sessions`, body, bearer(key));
const annSession = async (body: object = { title: 'T', tasks: { a: 'A' } }): Promise<CreatedSession> => {
  const { status, body: created } = await create(body);
  expect(status).toBe(201);
  return created;
};
const events = (s: CreatedSession, list: unknown, token = s.reporterToken) =>
  post(`${s.snapshotUrl}/events`, list, bearer(token));
const snapshot = async (s: CreatedSession): Promise<Snapshot> =>
  (await fetch(s.snapshotUrl, { headers: bearer(ANN) })).json();

describe('every number and count is bounded where it enters', () => {
  it.each([
    ['deadAfterMs', { deadAfterMs: 8_700_000_000_000_000 }],
    ['stallAfterMs', { stallAfterMs: 8_700_000_000_000_000 }],
    ['expectedMs', { expectedMs: 1e15 }],
    ['ttlSeconds', { ttlSeconds: 1e12 }],
    ['tasks.0.weight', { tasks: [{ id: 'a', name: 'A', weight: 1e300 }] }],
    ['tasks.0.expectedMs', { tasks: [{ id: 'a', name: 'A', expectedMs: 1e15 }] }],
    ['tasks', { tasks: Object.fromEntries(Array.from({ length: 1_001 }, (_, i) => [`t${i}`, 'T'])) }],
    ['tasks', { tasks: Array.from({ length: 1_001 }, (_, i) => ({ id: `t${i}`, name: 'T' })) }],
    ['stages', { stages: Array.from({ length: 101 }, (_, i) => `S${i}`) }],
    ['title', { title: 'x'.repeat(501) }],
  ])('refuses %s out of bounds at creation, naming it', async (field, body) => {
    const { status, body: answer } = await create(body);
    expect(status).toBe(400);
    expect(answer.error.code).toBe('invalid_body');
    expect(answer.error.message).toContain(`${field}:`);
  });

  it.each(['__proto__', 'constructor', 'prototype'])(
    'refuses the task id %s in both forms instead of dropping it',
    async (id) => {
      const asObject = await create({ tasks: JSON.parse(`{"${id}": "Sneaky", "b": "B"}`) });
      expect(asObject.status).toBe(400);
      expect(asObject.body.error.message).toMatch(/^tasks/);
      const asArray = await create({ tasks: [{ id, name: 'Sneaky' }] });
      expect(asArray.status).toBe(400);
      expect(asArray.body.error.message).toMatch(/^tasks\.0\.id/);
    },
  );

  it('keeps stages added by events within the limit, and refuses the one past it with nothing applied', async () => {
    const s = await annSession({ tasks: { a: 'A' }, stages: Array.from({ length: 90 }, (_, i) => `S${i}`) });
    const ten = Array.from({ length: 10 }, (_, i) => ({ type: 'stage', name: `New ${i}`, state: 'pending' }));
    expect((await events(s, ten)).status).toBe(200);
    const before = await snapshot(s);
    const past = await events(s, [
      { type: 'log', line: 'would be lost' },
      { type: 'stage', name: 'One too many' },
    ]);
    expect(past.status).toBe(400);
    expect(past.body.error.message).toMatch(/events\[1\] \(stage\): name: .*100 stages/);
    const after = await snapshot(s);
    expect(after.version).toBe(before.version);
    expect(after.stages).toHaveLength(100);
  });

  it('counts artifacts across events, not per event', async () => {
    const s = await annSession();
    const fifty = Array.from({ length: 50 }, (_, i) => ({ name: `file-${i}.csv`, url: `/files/${i}` }));
    expect((await events(s, [{ type: 'result', artifacts: fifty }])).status).toBe(200);
    expect((await events(s, [{ type: 'result', artifacts: fifty }])).status).toBe(200);
    const past = await events(s, [{ type: 'result', artifacts: [{ name: 'one more' }] }]);
    expect(past.status).toBe(400);
    expect(past.body.error.message).toMatch(/artifacts: .*101 artifacts; at most 100/);
    expect((await snapshot(s)).artifacts).toHaveLength(100);
  });

  it('bounds attempts, step counts and string lengths in events', async () => {
    const s = await annSession();
    for (const [event, field] of [
      [{ type: 'retry', task: 'a', attempt: 1e9 }, 'events.0.attempt'],
      [{ type: 'steps', task: 'a', done: 1, total: 1e300 }, 'events.0.total'],
      [{ type: 'log', line: 'x'.repeat(2_001) }, 'events.0.line'],
      [{ type: 'message', text: 'x'.repeat(2_001) }, 'events.0.text'],
      [{ type: 'result', data: Array.from({ length: 20_000 }, () => 'abcd') }, 'events.0.data'],
    ] as const) {
      const answer = await events(s, [event]);
      expect(answer.status).toBe(400);
      expect(answer.body.error.message).toContain(`${field}:`);
    }
  });
});

describe('a chain points viewers only at a session the reporter may report to', () => {
  it('refuses a reporter token chaining to a session it merely knows the id of', async () => {
    const x = await annSession();
    const y = await annSession();
    const refused = await events(x, [{ type: 'chain', next: y.id }]);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/^next: /);
    const viewerToken = await events(x, [{ type: 'chain', next: y.id, token: y.viewerToken }]);
    expect(viewerToken.status).toBe(403);
    const otherSession = await events(x, [{ type: 'chain', next: y.id, token: x.reporterToken }]);
    expect(otherSession.status).toBe(403);
    expect((await snapshot(x)).next).toBeNull();
  });

  it('accepts the next session’s reporter token, or the owner’s key, and never stores the token', async () => {
    const x = await annSession();
    const y = await annSession();
    expect((await events(x, [{ type: 'chain', next: y.id, token: y.reporterToken }])).status).toBe(200);
    const chained = await snapshot(x);
    expect(chained.next).toMatchObject({ id: y.id, viewerToken: expect.any(String) });
    expect(JSON.stringify(chained)).not.toContain(y.reporterToken);
    const z = await annSession();
    const w = await annSession();
    expect((await events(z, [{ type: 'chain', next: w.id }], ANN)).status).toBe(200);
  });

  it('keeps a request’s Host header out of the next session’s URL that every viewer is sent', async () => {
    const x = await annSession();
    const y = await annSession();
    const answer = await rawPost(`${x.snapshotUrl}/events`, [{ type: 'chain', next: y.id }], {
      ...bearer(ANN),
      Host: 'attacker.example',
    });
    expect(answer.status).toBe(200);
    const chained = await snapshot(x);
    expect(chained.next?.streamUrl).toBe(`/sessions/${y.id}/stream`);
  });

  it('refuses another owner’s session even with its reporter token', async () => {
    const x = await annSession();
    const bobs = (await create({ title: 'B' }, BOB)).body as CreatedSession;
    const refused = await events(x, [{ type: 'chain', next: bobs.id, token: bobs.reporterToken }]);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/another owner/);
  });
});

describe('credentials', () => {
  it('takes API keys only in the Authorization header, never in the URL', async () => {
    const inUrl = await fetch(`${server.url}/sessions?token=${ANN}`);
    expect(inUrl.status).toBe(401);
    expect((await inUrl.json()).error.message).toMatch(/Authorization header/);
    const s = await annSession();
    const streamWithKey = await fetch(`${server.url}/stream?session=${s.id}&token=${ANN}`);
    expect(streamWithKey.status).toBe(401);
    expect((await fetch(`${server.url}/sessions`, { headers: bearer(ANN) })).status).toBe(200);
    const withToken = await fetch(`${s.snapshotUrl}?token=${s.viewerToken}`);
    expect(withToken.status).toBe(200);
  });
});

/** A JSON post through node:http, which (unlike fetch) sends the `Host` header it is given. */
function rawPost(url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('an upload its client breaks off', () => {
  it('is the client’s doing: no 500 and no stack in the log, and the server carries on', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const s = await annSession();
      for (const framing of [{ 'Content-Length': '1000' }, {}]) {
        const req = request(`${s.snapshotUrl}/events`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...bearer(s.reporterToken), ...framing },
        });
        req.on('error', () => {});
        await new Promise((resolve) => req.write('[{"type":"log","line":"', resolve));
        req.destroy();
      }
      // The server hears of the abort on its own time: a later request on another connection is answered after it.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await events(s, [{ type: 'log', line: 'after' }])).status).toBe(200);
      expect(errors).not.toHaveBeenCalled();
    } finally {
      errors.mockRestore();
    }
  });
});

/** Lines of a stream until it ends (or `timeoutMs`). */
async function linesOf(url: string, init: RequestInit = {}, timeoutMs = 3_000): Promise<StreamLine[]> {
  const stream = await openStream(url, init);
  await Promise.race([stream.ended, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  stream.close();
  return stream.lines;
}

/**
 * Stores a session past every limit, as an older version could have: a result
 * 20,000 levels deep and a dead-worker time no date can hold.
 */
async function breakStored(target: TestServer, id: string): Promise<void> {
  let data: unknown = 0;
  for (let i = 0; i < 20_000; i++) data = [data];
  await target.store.update(id, (s) => ({
    ...s,
    version: s.version + 1,
    result: data,
    options: { ...s.options, deadAfterMs: 8_700_000_000_000_000 },
  }));
}

describe('a stored session past the limits (from an older version) is served as an error', () => {
  it('answers its snapshot and the list with an error, streams its viewers an error line, and the rest carries on', async () => {
    const bad = await annSession();
    const good = await annSession();
    await breakStored(server, bad.id);

    const one = await fetch(bad.snapshotUrl, { headers: bearer(ANN) });
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ id: bad.id, status: 'error', error: { message: expect.any(String) } });

    const list = await fetch(`${server.url}/sessions?limit=100`, { headers: bearer(ANN) });
    expect(list.status).toBe(200);
    const { sessions } = (await list.json()) as { sessions: (Snapshot & { owner: string })[] };
    expect(sessions.find((s) => s.id === bad.id)).toMatchObject({ status: 'error', owner: 'ann' });
    expect(sessions.find((s) => s.id === good.id)).toMatchObject({ status: 'pending', owner: 'ann' });

    const ndjson = await linesOf(bad.streamUrl, { headers: bearer(bad.viewerToken) });
    expect(ndjson).toEqual([
      { type: 'error', id: bad.id, error: { code: 'internal_error', message: expect.any(String) } },
    ]);
    const sse = await openStream(bad.streamUrl, {
      headers: { ...bearer(bad.viewerToken), Accept: 'text/event-stream' },
    });
    await sse.ended;
    expect(sse.raw()).toMatch(/^data: \{"type":"error"/);

    const both = await openStream(
      `${server.url}/stream?session=${bad.id}&session=${good.id}&token=${bad.viewerToken}&token=${good.viewerToken}`,
    );
    await both.waitFor((l) => l.type === 'error' && l.id === bad.id);
    await both.waitFor((l) => l.type === 'snapshot' && l.id === good.id);
    await events(good, [{ type: 'complete', task: 'a' }]);
    await both.ended;
    expect(both.lines.filter((l) => l.type === 'snapshot').every((l) => (l as Snapshot).id === good.id)).toBe(true);
    expect((both.lines.at(-1) as Snapshot).status).toBe('complete');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

const req = await redis();

describe.skipIf(!req.available)('on Redis, a session stored with an absurd time', () => {
  const stores = storeFactory();
  let redisServer: TestServer | undefined;
  afterEach(async () => {
    await redisServer?.close();
    redisServer = undefined;
    await stores.cleanup();
  });

  it('is served on every read, and its stream ends instead of killing the process', async () => {
    redisServer = await startServer({ store: await stores.make() });
    const s = (await post(`${redisServer.url}/sessions`, { title: 'Far future' })).body as CreatedSession;
    await redisServer.store.update(s.id, (stored) => ({
      ...stored,
      version: stored.version + 1,
      options: { ...stored.options, deadAfterMs: 8_700_000_000_000_000 },
    }));
    const one = await fetch(s.snapshotUrl);
    expect(one.status).toBe(200);
    expect((await one.json()).expiresAt).toMatch(/^\+275760-/);
    expect((await fetch(`${redisServer.url}/sessions`)).status).toBe(200);
    const stream = await openStream(s.streamUrl);
    await stream.waitFor((l) => l.type === 'snapshot');
    await post(`${s.snapshotUrl}/events`, [{ type: 'complete', task: 'main' }], bearer(s.reporterToken));
    await stream.ended;
    expect((stream.lines.at(-1) as Snapshot).status).toBe('complete');
    expect((await fetch(`${redisServer.url}/healthz`)).status).toBe(200);
  });
});
