/**
 * The standalone server (what `npm start` runs) in keyed mode, sent what a
 * holder of one reporter token could send: nothing it sends is stored past
 * the limits, and after each try the process is alive and `/healthz` is 200.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot } from '../../protocol/index.ts';
import { bearer, openStream, post } from '../support/ndjson-client.ts';
import { type SpawnedServer, spawnServer } from '../support/spawned-server.ts';

const KEY = 'ann-key-0123456789abcdef';
const ENV = { LIVEOP_API_KEYS: `${KEY}:ann`, LIVEOP_SECRET: 'a-secret-of-at-least-32-characters!' };

/** `[[[…0…]]]`, `depth` levels deep, as JSON text (JSON.stringify could not make it). */
const nested = (depth: number): string => `${'['.repeat(depth)}0${']'.repeat(depth)}`;

let server: SpawnedServer;
beforeAll(async () => {
  server = await spawnServer(ENV);
});
afterAll(() => server.kill());

async function expectAlive(): Promise<void> {
  expect(server.alive()).toBe(true);
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
}

/** Opens the session's NDJSON, SSE and multiplexed streams and reads the first line of each. */
async function watchEveryWay(s: CreatedSession): Promise<void> {
  const urls: [string, RequestInit][] = [
    [s.streamUrl, { headers: bearer(s.viewerToken) }],
    [s.streamUrl, { headers: { ...bearer(s.viewerToken), Accept: 'text/event-stream' } }],
    [`${server.url}/stream?session=${s.id}&token=${s.viewerToken}`, {}],
  ];
  for (const [url, init] of urls) {
    const stream = await openStream(url, init);
    expect(stream.response.status).toBe(200);
    await stream.waitFor((l) => l.type === 'snapshot');
    stream.close();
  }
  const snapshot = await fetch(s.snapshotUrl, { headers: bearer(s.viewerToken) });
  expect(snapshot.status).toBe(200);
  expect(((await snapshot.json()) as Snapshot).result).toBeNull();
}

const send = (s: CreatedSession, body: string, type = 'application/json') =>
  fetch(`${s.snapshotUrl}/events`, {
    method: 'POST',
    headers: { 'Content-Type': type, ...bearer(s.reporterToken) },
    body,
  });

describe('a reporter cannot make the server unable to serve a session', () => {
  let session: CreatedSession;
  beforeAll(async () => {
    session = (await post(`${server.url}/sessions`, { title: 'Target', tasks: { a: 'A' } }, bearer(KEY))).body;
  });

  it.each([1_000, 20_000, 200_000])('refuses a result nested %i deep, as JSON and as NDJSON', async (depth) => {
    for (const [body, type] of [
      [`[{"type":"result","data":${nested(depth)}}]`, 'application/json'],
      [`{"type":"log","line":"ok"}\n{"type":"result","data":${nested(depth)}}\n`, 'application/x-ndjson'],
    ] as const) {
      const answer = await send(session, body, type);
      expect(answer.status).toBe(400);
      const { error } = await answer.json();
      expect(error.code).toBe('invalid_body');
      expect(error.message).toMatch(/^events\.\d\.data\.0\.0.*: nests deeper than 32 levels$/);
      await watchEveryWay(session);
      await expectAlive();
    }
  });

  it('refuses values nested deep anywhere in a body, naming where', async () => {
    const created = await fetch(`${server.url}/sessions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...bearer(KEY) },
      body: `{"title":${nested(50_000)}}`,
    });
    expect(created.status).toBe(400);
    expect((await created.json()).error.message).toMatch(/^title\.0\.0/);
    await expectAlive();
  });

  it('refuses a result as wide as the body limit, and takes a log batch that size', async () => {
    const wide = `[{"type":"result","data":[${Array.from({ length: 500_000 }, () => '0').join(',')}]}]`;
    expect(wide.length).toBeGreaterThan(1_000_000);
    const refused = await send(session, wide);
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.message).toMatch(/^events\.0\.data: is \d+ characters as JSON; at most 65536$/);
    const manyKeys = `[{"type":"result","data":{${Array.from({ length: 60_000 }, (_, i) => `"k${i}":1`).join(',')}}}]`;
    expect((await send(session, manyKeys)).status).toBe(400);
    const lines = Array.from({ length: 520 }, (_, i) => `${i} ${'x'.repeat(1_990)}`);
    const logs = JSON.stringify([{ type: 'log', lines }]);
    expect(logs.length).toBeGreaterThan(1_000_000);
    expect((await send(session, logs)).status).toBe(200);
    await watchEveryWay(session);
    await expectAlive();
  });

  it('answers 413 past the body limit', async () => {
    const answer = await send(session, `[{"type":"log","line":"${'x'.repeat(1_100_000)}"}]`);
    expect(answer.status).toBe(413);
    await expectAlive();
  });
});

describe('the demo with API keys', () => {
  it('is not mounted unless asked for, and says so', async () => {
    expect(server.output()).toMatch(/demo off \(API keys are set; LIVEOP_DEMO=1 turns it on\)/);
    const answer = await fetch(`${server.url}/demo/sessions`, { method: 'POST' });
    expect(answer.status).toBe(404);
    expect((await answer.json()).error.code).toBe('not_found');
    expect((await fetch(`${server.url}/`)).status).toBe(404);
  });

  it('when asked for, starts sessions for a visitor only within its rate limit', async () => {
    const demo = await spawnServer({ ...ENV, LIVEOP_DEMO: '1' });
    try {
      expect(demo.output()).toMatch(/demo at http:\/\/127\.0\.0\.1:\d+\//);
      const statuses: number[] = [];
      let refusal: Response | undefined;
      for (let i = 0; i < 12; i++) {
        const answer = await fetch(`${demo.url}/demo/sessions`, { method: 'POST' });
        statuses.push(answer.status);
        if (answer.status !== 201) refusal = answer;
      }
      expect(statuses).toEqual([...Array(10).fill(201), 429, 429]);
      expect(Number(refusal!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await refusal!.json()).error.code).toBe('too_many_requests');
      expect(demo.alive()).toBe(true);
    } finally {
      demo.kill();
    }
  });
});
