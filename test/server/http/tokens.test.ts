/**
 * Tokens that live well: a viewer open longer than its token gets a fresh
 * one on its stream; secrets rotate with no downtime; what a viewer token may
 * do is the creator's choice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession, TokenLine } from '../../../protocol/index.ts';
import { TokenSigner } from '../../../server/sessions/access.ts';
import { bearer, openStream, post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';

const KEY = 'ann-key-0123456789abcdef';
const OLD = 'the-old-secret-0123456789abcdef';
const NEW = 'the-new-secret-0123456789abcdef';
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('viewer tokens', () => {
  it('hands a viewer a fresh token on its stream before the one it holds expires, which then works', async () => {
    server = await startServer({ viewerTokenTtlSeconds: 4, heartbeatMs: 600 });
    const s = (await post(`${server.url}/sessions`, { title: 'Long' })).body as CreatedSession;
    const stream = await openStream(s.streamUrl, { headers: bearer(s.viewerToken) });
    const first = (await stream.waitFor((l) => l.type === 'token', 5_000)) as TokenLine;
    expect(first).toMatchObject({ type: 'token', id: s.id, token: expect.any(String), expiresAt: expect.any(String) });
    expect(Date.parse(first.expiresAt)).toBeGreaterThan(Date.now() + 1_000);
    // Once the token the stream was opened with has expired, the newest one handed out works.
    await expect
      .poll(async () => (await fetch(s.snapshotUrl, { headers: bearer(s.viewerToken) })).status, { timeout: 6_000 })
      .toBe(401);
    const newest = stream.lines.filter((l): l is TokenLine => l.type === 'token').at(-1)!;
    expect((await fetch(s.snapshotUrl, { headers: bearer(newest.token) })).status).toBe(200);
    stream.close();
  }, 15_000);

  it('renews a token for what its creator granted it, not the server’s default lifetime', async () => {
    server = await startServer({ apiKeys: { [KEY]: { owner: 'ann' } }, viewerTokenTtlSeconds: 3600 });
    const s = (await post(`${server.url}/sessions`, { title: 'Short' }, bearer(KEY))).body as CreatedSession;
    const minted = (await post(`${s.snapshotUrl}/tokens`, { scope: 'view', ttlSeconds: 10 }, bearer(KEY))).body;
    const opened = Date.now();
    const stream = await openStream(s.streamUrl, { headers: bearer(minted.token) });
    const renewed = (await stream.waitFor((l) => l.type === 'token', 8_000)) as TokenLine;
    // Half its lifetime before it expires, for as long again: never the server's hour.
    expect(Date.now() - opened).toBeGreaterThanOrEqual(4_000);
    expect(Date.parse(renewed.expiresAt)).toBeLessThanOrEqual(Date.now() + 10_000 + 1_000);
    stream.close();
  }, 15_000);

  it('refuses an API key put in the URL even when the Authorization header carries a credential', async () => {
    server = await startServer({ apiKeys: { [KEY]: { owner: 'ann' } } });
    const s = (await post(`${server.url}/sessions`, { title: 'T' }, bearer(KEY))).body as CreatedSession;
    const answer = await fetch(`${s.snapshotUrl}?token=${KEY}`, { headers: bearer(s.viewerToken) });
    expect(answer.status).toBe(401);
    expect((await answer.json()).error.message).toMatch(/never in a URL/);
  });

  it('gives view-only viewer tokens with API keys unless the creator asks for view+cancel', async () => {
    server = await startServer({ apiKeys: { [KEY]: { owner: 'ann' } } });
    const plain = (await post(`${server.url}/sessions`, { title: 'T' }, bearer(KEY))).body as CreatedSession;
    const cancel = (id: string, token: string) =>
      fetch(`${server!.url}/sessions/${id}/cancel`, { method: 'POST', headers: bearer(token) });
    expect((await cancel(plain.id, plain.viewerToken)).status).toBe(403);
    const asked = (await post(`${server.url}/sessions`, { title: 'T', viewerScope: 'view+cancel' }, bearer(KEY))).body;
    expect((await cancel(asked.id, asked.viewerToken)).status).toBe(202);
  });
});

describe('secret rotation', () => {
  it('verifies tokens signed with any listed secret and signs with the first; a dropped secret’s tokens are refused', async () => {
    server = await startServer({ secret: [NEW, OLD] });
    const s = (await post(`${server.url}/sessions`, { title: 'T' })).body as CreatedSession;
    const signedWithOld = new TokenSigner(OLD).sign(s.id, 'view', 60);
    expect((await fetch(s.snapshotUrl, { headers: bearer(signedWithOld) })).status).toBe(200);
    expect(new TokenSigner(NEW).verify(s.viewerToken)).toMatchObject({ sid: s.id });
    await server.close();
    server = await startServer({ secret: [NEW] });
    const t = (await post(`${server.url}/sessions`, { title: 'T' })).body as CreatedSession;
    const old = new TokenSigner(OLD).sign(t.id, 'view', 60);
    const refused = await fetch(t.snapshotUrl, { headers: bearer(old) });
    expect(refused.status).toBe(401);
    expect((await refused.json()).error.message).toMatch(/signature/);
  });
});

describe('minting', () => {
  it('lets a token mint none that outlives it', async () => {
    server = await startServer({ reporterTokenTtlSeconds: 60 });
    const s = (await post(`${server.url}/sessions`, { title: 'T' })).body as CreatedSession;
    const minted = await post(
      `${s.snapshotUrl}/tokens`,
      { scope: 'report', ttlSeconds: 30 * 86_400 },
      bearer(s.reporterToken),
    );
    expect(minted.status).toBe(201);
    expect(minted.body.ttlSeconds).toBeLessThanOrEqual(60);
  });

  it('refuses to listen beyond loopback with no API keys', async () => {
    const { createLiveop } = await import('../../../server/liveop.ts');
    const open = createLiveop();
    try {
      await expect(open.listen(0, '0.0.0.0')).rejects.toThrow(/refusing to listen on 0\.0\.0\.0 with no API keys/);
    } finally {
      await open.close();
    }
  });
});
