/**
 * `<live-operation>` when it cannot watch the session, in real Chromium
 * against the real server: what it tells the page owner (the page's origin
 * not allowed, the server down, 401, 403, 404), and that it keeps trying
 * while trying can help.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedSession } from '../../protocol/index.ts';
import { chromium } from '../support/requirements.ts';
import { elementSuite, openPage, shadowText, waitForShadowText } from './browser.ts';

const req = chromium();
const KEY = 'shop-key-0123456789abcdef';
const SECRET = 'a-test-secret-of-32-characters!!';

const UNREACHABLE = 'Server unreachable: is it running, with this origin in LIVEOP_CORS_ORIGINS?';

/** A viewer token as the server signs them (docs/protocol.md), here one that expired an hour ago. */
function expiredToken(sessionId: string): string {
  const body = Buffer.from(
    JSON.stringify({ sid: sessionId, scope: 'view', exp: Math.floor(Date.now() / 1000) - 3600 }),
  ).toString('base64url');
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

/** When each request the page made that passes `test` started, in order. */
function requestTimes(page: Page, test: (request: Request) => boolean): number[] {
  const times: number[] = [];
  page.on('request', (request) => {
    if (test(request)) times.push(Date.now());
  });
  return times;
}

async function until(check: () => boolean, what: string, timeout = 10_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!req.available)('<live-operation> when it cannot watch the session', () => {
  // A site of the page owner's on another origin, which the server does not list in its CORS origins.
  let site: Server;
  let OTHER: string;
  const pages = new Map<string, string>();
  beforeAll(async () => {
    site = createServer((request, response) => {
      const html = pages.get(request.url ?? '');
      response.writeHead(html ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' }).end(html ?? '');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    OTHER = `http://localhost:${(site.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => site?.close(() => resolve())));
  const suite = elementSuite(() => ({ apiKeys: { [KEY]: { owner: 'shop' } }, secret: SECRET }));

  const api = async (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${suite.server.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const create = async (title: string): Promise<CreatedSession> => {
    const response = await api('POST', '/sessions', { title, tasks: { t: 'Task' } });
    expect(response.status).toBe(201);
    return (await response.json()) as CreatedSession;
  };

  it("says it cannot reach the server when the server does not allow the page's origin, and keeps trying", async () => {
    const session = await create('Payroll');
    const page = await suite.browser.newPage();
    const streams = requestTimes(page, (r) => r.url().startsWith(session.streamUrl));
    pages.set(
      '/admin',
      `<!doctype html><html lang="en"><head><meta charset="utf-8">
<script type="module" src="${suite.server.url}/widget.js"></script></head>
<body><live-operation src="${session.streamUrl}" token="${session.viewerToken}"></live-operation></body></html>`,
    );
    await page.goto(`${OTHER}/admin`);
    await waitForShadowText(page, '[part~=meta]', UNREACHABLE);
    expect(streams.length).toBeGreaterThanOrEqual(3);
    // Still trying: another attempt follows the message.
    const seen = streams.length;
    await until(() => streams.length > seen, 'another attempt', 5_000);
    expect(await shadowText(page, '[part~=title]')).not.toBe('Payroll');
    expect(await shadowText(page, '[part~=problem]')).toBeNull();
  });

  it('says it cannot reach the server while nothing answers, and shows the session once the server does', async () => {
    const session = await create('Back soon');
    let refused = 0;
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation src="${session.streamUrl}" token="${session.viewerToken}"></live-operation>`,
      {
        // The first attempts find nothing listening, as when the server is down.
        before: (p) =>
          void p.route(
            (url) => url.pathname.endsWith('/stream'),
            (route) => (refused++ < 3 ? route.abort('connectionrefused') : route.continue()),
          ),
      },
    );
    await waitForShadowText(page, '[part~=meta]', UNREACHABLE);
    await waitForShadowText(page, '[part~=title]', 'Back soon');
    expect(await shadowText(page, '[part~=meta]')).toBeNull();
  });

  it('says the token is missing, invalid or expired when the server answers 401, in the words the page gives', async () => {
    const session = await create('Needs a token');
    const tampered = `${session.viewerToken.slice(0, -2)}xx`;
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation src="${session.streamUrl}"></live-operation>
       <live-operation src="${session.streamUrl}" token="${tampered}"></live-operation>
       <live-operation src="${session.streamUrl}" token="${expiredToken(session.id)}"></live-operation>
       <live-operation src="${session.streamUrl}" strings='{"401":"Bitte melden Sie sich erneut an"}'></live-operation>`,
    );
    for (const n of [0, 1, 2]) await waitForShadowText(page, '[part~=problem]', 'Token missing, invalid or expired', n);
    await waitForShadowText(page, '[part~=problem]', 'Bitte melden Sie sich erneut an', 3);
  });

  it('says the token is not valid for this session when the server answers 403', async () => {
    const [session, other] = await Promise.all([create('Mine'), create('Theirs')]);
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation src="${session.streamUrl}" token="${other.viewerToken}"></live-operation>`,
    );
    await waitForShadowText(page, '[part~=problem]', 'Token not valid for this session');
    expect(await shadowText(page, '[part~=title]')).not.toBe('Mine');
  });

  it('says the session is unknown when the server answers 404, and nothing else (no status, title or bar)', async () => {
    const session = await create('Deleted before the page opened');
    expect((await api('DELETE', `/sessions/${session.id}`)).status).toBe(204);
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation src="${session.streamUrl}" token="${session.viewerToken}"></live-operation>`,
    );
    await waitForShadowText(page, '[part~=problem]', 'Unknown session');
    for (const part of ['status', 'title', 'overall-percent'])
      expect(await shadowText(page, `[part~=${part}]`)).toBeNull();
  });
});
