/** The hosted page of a session (`watchUrl`): a link that shows it, with nothing unchecked from the request in it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedSession } from '../../../protocol/index.ts';
import { post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

describe('the watch page', () => {
  it('is linked from the created answer and shows the session’s element with its token', async () => {
    const created = (await post(`${server.url}/sessions`, { title: 'Shared' })).body as CreatedSession;
    expect(created.watchUrl).toBe(`${server.url}/watch/${created.id}?token=${created.viewerToken}`);
    const page = await fetch(created.watchUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const html = await page.text();
    expect(html).toContain(`<script type="module" src="${server.url}/widget.js"></script>`);
    expect(html).toContain(
      `<live-operation src="${server.url}/sessions/${created.id}/stream?token=${created.viewerToken}"`,
    );
  });

  it('refuses what does not look like an id or a token, so nothing reaches the page', async () => {
    const bad = await fetch(`${server.url}/watch/abc?token=${encodeURIComponent('"><img src=x onerror=alert(1)>')}`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/^token: /);
    const worse = await fetch(`${server.url}/watch/${encodeURIComponent('<script>')}`);
    expect(worse.status).toBe(404);
  });
});
