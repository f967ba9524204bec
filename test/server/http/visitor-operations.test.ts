/**
 * Operations a page's visitor may start (the contract's "API key or an
 * allowed viewer"): registered with `visitors: true`, started with no
 * credential at all, counted per client address; the visitor can watch and
 * cancel, never report. Everything else still needs a key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Snapshot } from '../../../protocol/index.ts';
import { parseRateLimits } from '../../../server/http/limits.ts';
import { bearer, openStream, post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';

const KEY = 'ann-key-0123456789abcdef';
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function keyedServer(visitorsPerMinute = 10) {
  server = await startServer({
    apiKeys: { [KEY]: { owner: 'ann' } },
    rateLimits: { visitors: { points: visitorsPerMinute, seconds: 60 } },
  });
  // Runs until cancelled, so the visitor has something to watch and cancel.
  const run = async (task: { signal: AbortSignal; percent(value: number): void }) => {
    task.percent(10);
    await new Promise<void>((_, reject) =>
      task.signal.addEventListener('abort', () => reject(task.signal.reason), { once: true }),
    );
  };
  server.liveop.operation('try-me', { visitors: true, input: z.object({ rows: z.number().int().max(10) }), run });
  server.liveop.operation('internal', { run });
  return server;
}

describe('operations a visitor may start', () => {
  it('starts one with no credential: a view+cancel token, no reporter token, the input still checked', async () => {
    const s = await keyedServer();
    const started = await post(`${s.url}/operations/try-me`, { rows: 3 });
    expect(started.status).toBe(201);
    expect(Object.keys(started.body).sort()).toEqual(['id', 'snapshotUrl', 'streamUrl', 'viewerToken', 'watchUrl']);
    const { viewerToken, streamUrl, snapshotUrl } = started.body as Record<string, string>;

    const stream = await openStream(`${streamUrl}?token=${viewerToken}`);
    await stream.waitFor((l) => (l as Snapshot).status === 'running');
    // The viewer token watches and cancels, and reports nothing.
    expect((await post(`${snapshotUrl}/events`, [{ type: 'log', line: 'x' }], bearer(viewerToken!))).status).toBe(403);
    expect((await post(`${snapshotUrl}/cancel?token=${viewerToken}`, {})).status).toBe(202);
    await stream.waitFor((l) => (l as Snapshot).status === 'cancelled');
    stream.close();

    const invalid = await post(`${s.url}/operations/try-me`, { rows: 'many' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toMatch(/rows/);
  });

  it('still asks for a key for other operations, and for a credential that is sent but bad', async () => {
    const s = await keyedServer();
    expect((await post(`${s.url}/operations/internal`, {})).status).toBe(401);
    // A request that sends a credential is judged by it, never given a visitor's rights.
    expect((await post(`${s.url}/operations/try-me`, { rows: 1 }, bearer('not-a-key-or-token'))).status).toBe(401);
    expect((await post(`${s.url}/sessions`, { title: 'T' })).status).toBe(401);
    // With the key, the usual answer, reporter token included.
    const keyed = await post(`${s.url}/operations/try-me`, { rows: 1 }, bearer(KEY));
    expect(keyed.status).toBe(201);
    expect(keyed.body.reporterToken).toEqual(expect.any(String));
  });

  it('counts visitors per client address: 429 with Retry-After past the limit, nothing started for it', async () => {
    const s = await keyedServer(2);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await post(`${s.url}/operations/try-me`, { rows: 1 }));
    expect(statuses.map((a) => a.status)).toEqual([201, 201, 429]);
    expect(statuses[2]!.body.error.message).toMatch(/without a credential/);
    expect(Number(statuses[2]!.headers.get('retry-after'))).toBeGreaterThan(0);
    const listed = await (await fetch(`${s.url}/sessions?limit=100`, { headers: bearer(KEY) })).json();
    // Visitors' sessions have no owner: ann's key lists none of them.
    expect(listed.sessions).toHaveLength(0);
  });

  it('takes the visitors limit from LIVEOP_RATE_LIMITS', () => {
    expect(parseRateLimits('visitors=3/60')).toEqual({ visitors: { points: 3, seconds: 60 } });
  });
});
