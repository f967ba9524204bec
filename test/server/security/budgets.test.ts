/**
 * The budget rows of the credential matrix: a request is counted only once
 * its credential may do what it asks, one credential cannot spend another's
 * budget (not even the holders of one shared viewer token, from different
 * addresses), and every path that creates a session — a create, an
 * operation's start, a restart — counts against the session's owner.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession } from '../../../protocol/index.ts';
import { addressKey } from '../../../server/http/limits.ts';
import { bearer, post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';

const ANN = 'ann-key-0123456789abcdef';
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/**
 * Opens `url` from the loopback address `from` (any 127.x.y.z reaches a
 * server on 127.0.0.1) and drops it once the status is in: a viewer opening
 * and closing streams in a loop.
 */
function statusFrom(url: string, headers: Record<string, string>, from = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, localAddress: from }, (res) => {
      resolve(res.statusCode ?? 0);
      res.destroy();
    });
    req.on('error', reject);
    req.end();
  });
}

async function ended(s: CreatedSession): Promise<void> {
  const done = await post(`${s.snapshotUrl}/events`, [{ type: 'error', message: 'failed' }], bearer(s.reporterToken));
  expect(done.status).toBe(200);
}

describe('budgets (credential matrix)', () => {
  it('a viewer opening streams in a loop spends only its own budget: another viewer and its own token from another address still open', async () => {
    server = await startServer({
      apiKeys: { [ANN]: { owner: 'ann' } },
      rateLimits: { streams: { points: 5, seconds: 60 } },
    });
    const s = (await post(`${server.url}/sessions`, { title: 'T' }, bearer(ANN))).body as CreatedSession;
    const other = (await post(`${s.snapshotUrl}/tokens`, { scope: 'view', ttlSeconds: 1800 }, bearer(ANN))).body;
    const looping: number[] = [];
    for (let i = 0; i < 8; i++) looping.push(await statusFrom(s.streamUrl, bearer(s.viewerToken)));
    expect(looping).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    // Another viewer token of the same session, and the same token held by a viewer elsewhere.
    expect(await statusFrom(s.streamUrl, bearer(other.token))).toBe(200);
    expect(await statusFrom(s.streamUrl, bearer(s.viewerToken), '127.0.0.2')).toBe(200);
  });

  it('a token refused a mint spends nothing: the reporter still mints its whole budget', async () => {
    server = await startServer({
      apiKeys: { [ANN]: { owner: 'ann' } },
      rateLimits: { tokens: { points: 3, seconds: 60 } },
    });
    const s = (await post(`${server.url}/sessions`, { title: 'T' }, bearer(ANN))).body as CreatedSession;
    const mint = (token: string) => post(`${s.snapshotUrl}/tokens`, { scope: 'view' }, bearer(token));
    const refused = [];
    for (let i = 0; i < 10; i++) refused.push((await mint(s.viewerToken)).status);
    expect(new Set(refused)).toEqual(new Set([403]));
    const minted = [];
    for (let i = 0; i < 4; i++) minted.push((await mint(s.reporterToken)).status);
    expect(minted).toEqual([201, 201, 201, 429]);
  });

  it('a token refused a restart spends nothing of the owner’s creation budget', async () => {
    server = await startServer({
      apiKeys: { [ANN]: { owner: 'ann' } },
      runner: 'inline',
      rateLimits: { create: { points: 2, seconds: 60 } },
    });
    server.liveop.operation('job', { run: () => {} });
    const started = await post(`${server.url}/operations/job`, {}, bearer(ANN));
    expect(started.status).toBe(201);
    const s = started.body as CreatedSession;
    await expect
      .poll(async () => (await (await fetch(s.snapshotUrl, { headers: bearer(ANN) })).json()).status)
      .toBe('complete');
    const restart = (token: string) => fetch(`${s.snapshotUrl}/restart`, { method: 'POST', headers: bearer(token) });
    for (let i = 0; i < 5; i++) expect((await restart(s.viewerToken)).status).toBe(403);
    expect((await restart(s.reporterToken)).status).toBe(201);
    // The owner's second creation of the window; the third is one too many, whichever path it takes.
    expect((await restart(s.reporterToken)).status).toBe(429);
    expect((await post(`${server.url}/sessions`, { title: 'T' }, bearer(ANN))).status).toBe(429);
  });

  it('operation starts and restarts count against the sessions one owner may hold', async () => {
    server = await startServer({
      apiKeys: { [ANN]: { owner: 'ann' } },
      runner: 'inline',
      caps: { sessionsPerOwner: 3 },
    });
    server.liveop.operation('job', { run: () => {} });
    const first = (await post(`${server.url}/operations/job`, {}, bearer(ANN))).body as CreatedSession;
    await post(`${server.url}/sessions`, { title: 'T' }, bearer(ANN));
    await post(`${server.url}/sessions`, { title: 'T' }, bearer(ANN));
    await expect
      .poll(async () => (await (await fetch(first.snapshotUrl, { headers: bearer(ANN) })).json()).status)
      .toBe('complete');
    const start = await post(`${server.url}/operations/job`, {}, bearer(ANN));
    expect(start.status).toBe(429);
    expect(start.body.error.message).toMatch(/holds 3 sessions/);
    for (const token of [ANN, first.reporterToken]) {
      expect((await fetch(`${first.snapshotUrl}/restart`, { method: 'POST', headers: bearer(token) })).status).toBe(
        429,
      );
    }
    const listed = await (await fetch(`${server.url}/sessions?limit=100`, { headers: bearer(ANN) })).json();
    expect(listed.sessions).toHaveLength(3);
  });

  it('restarting with reporter tokens counts against the owner’s creation rate, not each token’s', async () => {
    server = await startServer({
      apiKeys: { [ANN]: { owner: 'ann' } },
      runner: 'inline',
      rateLimits: { create: { points: 6, seconds: 60 } },
    });
    server.liveop.operation('job', { run: () => {} });
    const finished: CreatedSession[] = [];
    for (let i = 0; i < 3; i++) {
      const s = (await post(`${server.url}/sessions`, { title: `T${i}` }, bearer(ANN))).body as CreatedSession;
      await ended(s);
      finished.push(s);
    }
    // Plain sessions cannot be restarted; operations can: three of them, ended.
    const ops: CreatedSession[] = [];
    for (let i = 0; i < 3; i++) ops.push((await post(`${server.url}/operations/job`, {}, bearer(ANN))).body);
    expect(ops.every((o) => typeof o.id === 'string')).toBe(true);
    // Six creations spent; every restart by any token of ann's sessions is now refused.
    for (const op of ops) {
      await expect
        .poll(async () => (await (await fetch(op.snapshotUrl, { headers: bearer(ANN) })).json()).status)
        .toBe('complete');
      const answer = await fetch(`${op.snapshotUrl}/restart`, { method: 'POST', headers: bearer(op.reporterToken) });
      expect(answer.status).toBe(429);
      expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
    }
  });

  it('limits how often one credential lists sessions', async () => {
    server = await startServer({
      apiKeys: { [ANN]: { owner: 'ann' } },
      rateLimits: { lists: { points: 3, seconds: 60 } },
    });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${server.url}/sessions`, { headers: bearer(ANN) })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe('addresses a limit counts', () => {
  it('takes IPv4 addresses alone, IPv6 ones by their /64, and a mapped IPv4 address as itself', () => {
    expect(addressKey('203.0.113.7')).toBe('address:203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('address:203.0.113.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
    expect(addressKey('unknown')).toBe('address:unknown');
  });
});
