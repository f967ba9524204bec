/**
 * Rate limits and caps: a runaway script is stopped with 429 and
 * `Retry-After` (caps: 503), nothing it was refused is applied, and limits on
 * what fills the store hold across instances on one Redis.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession } from '../../../protocol/index.ts';
import { parseCaps, parseRateLimits } from '../../../server/http/limits.ts';
import { bearer, openStream, post } from '../../support/ndjson-client.ts';
import { redis } from '../../support/requirements.ts';
import { startServer, type TestServer } from '../../support/server.ts';
import { type Cluster, startCluster } from '../scale-out/scale-out-helpers.ts';

const KEY = 'ann-key-0123456789abcdef';
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const create = (url: string, headers: Record<string, string> = {}) => post(`${url}/sessions`, { title: 'T' }, headers);

describe('rate limits', () => {
  it('answers 429 with Retry-After past the creation limit of a key, and stores nothing for it', async () => {
    server = await startServer({
      apiKeys: { [KEY]: { owner: 'ann' } },
      rateLimits: { create: { points: 3, seconds: 30 } },
    });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await create(server.url, bearer(KEY)));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 429, 429]);
    expect(answers[3]!.body.error).toEqual({
      code: 'too_many_requests',
      message: expect.stringMatching(/sessions created/),
    });
    const wait = Number(answers[3]!.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(30);
    const listed = await (await fetch(`${server.url}/sessions?limit=100`, { headers: bearer(KEY) })).json();
    expect(listed.sessions).toHaveLength(3);
  });

  it('limits event posts per session, applying none of the refused ones', async () => {
    server = await startServer({ rateLimits: { events: { points: 4, seconds: 30 } } });
    const s = (await create(server.url)).body as CreatedSession;
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      statuses.push(
        (await post(`${s.snapshotUrl}/events`, [{ type: 'log', line: `l${i}` }], bearer(s.reporterToken))).status,
      );
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const snapshot = await (await fetch(s.snapshotUrl)).json();
    expect(snapshot.logs.map((l: { line: string }) => l.line)).toEqual(['l0', 'l1', 'l2', 'l3']);
    // Another session's reporter is not held back by this one.
    const other = (await create(server.url)).body as CreatedSession;
    expect(
      (await post(`${other.snapshotUrl}/events`, [{ type: 'log', line: 'x' }], bearer(other.reporterToken))).status,
    ).toBe(200);
  });

  it('can be turned off', async () => {
    server = await startServer({ rateLimits: false });
    const statuses = await Promise.all(Array.from({ length: 150 }, async () => (await create(server!.url)).status));
    expect(new Set(statuses)).toEqual(new Set([201]));
  });
});

describe('caps', () => {
  it('answers 503 with Retry-After past the streams one address may hold, and frees the slot when one closes', async () => {
    server = await startServer({ caps: { streamsPerAddress: 2 } });
    const s = (await create(server.url)).body as CreatedSession;
    const a = await openStream(s.streamUrl);
    const b = await openStream(s.streamUrl);
    const third = await fetch(s.streamUrl);
    expect(third.status).toBe(503);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await third.json()).error.message).toMatch(/streams are open from this address/);
    a.close();
    await expect
      .poll(async () => {
        const response = await fetch(s.streamUrl);
        void response.body?.cancel();
        return response.status;
      })
      .toBe(200);
    b.close();
  });

  it('refuses a new session past the sessions one owner may hold', async () => {
    server = await startServer({ apiKeys: { [KEY]: { owner: 'ann' } }, caps: { sessionsPerOwner: 2 } });
    expect((await create(server.url, bearer(KEY))).status).toBe(201);
    expect((await create(server.url, bearer(KEY))).status).toBe(201);
    const third = await create(server.url, bearer(KEY));
    expect(third.status).toBe(429);
    expect(third.body.error.message).toMatch(/ann holds 2 sessions, the most/);
  });
});

const req = await redis();

describe.skipIf(!req.available)('rate limits on two instances', () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('counts sessions created through either instance against one limit', async () => {
    cluster = await startCluster(2, { rateLimits: { create: { points: 3, seconds: 30 } } });
    const [a, b] = cluster.servers as [TestServer, TestServer];
    const statuses = [];
    for (const target of [a, b, a, b, a]) statuses.push((await create(target.url)).status);
    expect(statuses).toEqual([201, 201, 201, 429, 429]);
  });
});

describe('LIVEOP_RATE_LIMITS and LIVEOP_CAPS', () => {
  it('read rates as POINTS/SECONDS and caps as numbers, over the defaults', () => {
    expect(parseRateLimits(undefined)).toEqual({});
    expect(parseRateLimits('off')).toBe(false);
    expect(parseRateLimits('create=10/1, events=5000/2')).toEqual({
      create: { points: 10, seconds: 1 },
      events: { points: 5000, seconds: 2 },
    });
    expect(parseCaps('sessionsPerOwner=500,stuckStreamMs=10000')).toEqual({
      sessionsPerOwner: 500,
      stuckStreamMs: 10_000,
    });
  });

  it('refuse a wrong entry, naming the variable and the entry, rather than start with a guess', () => {
    expect(() => parseRateLimits('create=10')).toThrow(/LIVEOP_RATE_LIMITS: create: a rate is POINTS\/SECONDS/);
    expect(() => parseRateLimits('bogus=1/1')).toThrow(/LIVEOP_RATE_LIMITS: .*bogus/);
    expect(() => parseRateLimits('create=0/1')).toThrow(/LIVEOP_RATE_LIMITS: create.points/);
    expect(() => parseCaps('stuckStreamMs=soon')).toThrow(/LIVEOP_CAPS: stuckStreamMs/);
    expect(() => parseCaps('streamsPerAddress')).toThrow(/LIVEOP_CAPS: "streamsPerAddress" is not name=value/);
  });
});
