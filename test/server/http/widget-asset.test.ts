/**
 * `/widget.js` and its content-hashed twin: revalidated by ETag, or cached
 * for good under a name that changes with every build, with the SRI hash a
 * page's <script integrity> needs.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../../support/server.ts';

const BUNDLE = 'customElements.define("live-operation", class extends HTMLElement {});\n';
const LIST_BUNDLE = 'customElements.define("live-operation-list", class extends HTMLElement {});\n';
let server: TestServer;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'liveop-widget-'));
  writeFileSync(join(dir, 'live-operation.js'), BUNDLE);
  writeFileSync(join(dir, 'live-operation-list.js'), LIST_BUNDLE);
  // The list's bundle is read beside the element's.
  server = await startServer({ widgetPath: join(dir, 'live-operation.js') });
});
afterAll(() => server.close());

describe('the element bundle', () => {
  it('serves /widget.js with an ETag, answers 304 when it has not changed, and names its immutable twin', async () => {
    const first = await fetch(`${server.url}/widget.js`);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe(BUNDLE);
    expect(first.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(first.headers.get('access-control-allow-origin')).toBe('*');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const again = await fetch(`${server.url}/widget.js`, { headers: { 'If-None-Match': etag } });
    expect(again.status).toBe(304);
    expect(first.headers.get('link')).toMatch(
      /^<http:\/\/127\.0\.0\.1:\d+\/widget\/[0-9a-f]{12}\.js>; rel="canonical"$/,
    );
  });

  it('gives the hashed URL and the SRI hash in /widget.json, serves that URL immutable, and 404s an old one', async () => {
    const { url, integrity } = await (await fetch(`${server.url}/widget.json`)).json();
    expect(integrity).toBe(`sha384-${createHash('sha384').update(BUNDLE).digest('base64')}`);
    const hashed = await fetch(url);
    expect(hashed.status).toBe(200);
    expect(hashed.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await hashed.text()).toBe(BUNDLE);
    const stale = await fetch(`${server.url}/widget/0123456789ab.js`);
    expect(stale.status).toBe(404);
    expect((await stale.json()).error.message).toMatch(/this build of the element is gone/);
  });

  it('serves /widget-list.js (<live-operation-list>) as /widget.js: the same headers, ETag and immutable twin', async () => {
    const first = await fetch(`${server.url}/widget-list.js`);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe(LIST_BUNDLE);
    const element = await fetch(`${server.url}/widget.js`);
    for (const name of ['content-type', 'access-control-allow-origin', 'cross-origin-resource-policy', 'cache-control'])
      expect([name, first.headers.get(name)]).toEqual([name, element.headers.get(name)]);
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(etag).not.toBe(element.headers.get('etag'));
    const again = await fetch(`${server.url}/widget-list.js`, { headers: { 'If-None-Match': etag } });
    expect(again.status).toBe(304);
    const canonical = /^<(http:\/\/127\.0\.0\.1:\d+\/widget-list\/[0-9a-f]{12}\.js)>; rel="canonical"$/.exec(
      first.headers.get('link') ?? '',
    );
    expect(canonical).not.toBeNull();
    const hashed = await fetch(canonical![1]!);
    expect(hashed.status).toBe(200);
    expect(hashed.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await hashed.text()).toBe(LIST_BUNDLE);
    const stale = await fetch(`${server.url}/widget-list/0123456789ab.js`);
    expect(stale.status).toBe(404);
    expect((await stale.json()).error.message).toMatch(/this build of the element is gone.*widget-list\.json/);
    // Its own description for <script integrity>, as /widget.json is the element's.
    const described = await (await fetch(`${server.url}/widget-list.json`)).json();
    expect(described).toEqual({
      url: canonical![1],
      integrity: `sha384-${createHash('sha384').update(LIST_BUNDLE).digest('base64')}`,
      bytes: Buffer.byteLength(LIST_BUNDLE),
    });
  });
});
