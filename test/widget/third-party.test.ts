/**
 * The embed the README gives, on another site: a page on one origin loads
 * `/widget.js` from the Liveop server on another, then streams and cancels
 * across origins — allowed only for the origins the server lists.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedSession } from '../../protocol/index.ts';
import { chromium } from '../support/requirements.ts';
import { attrs, elementSuite, shadowText, waitForShadowText } from './browser.ts';

const req = chromium();
const KEY = 'shop-key-0123456789abcdef';

describe.skipIf(!req.available)('<live-operation> on a third-party page', () => {
  // The shop's own web server, on loopback like Liveop (so Chromium's
  // local-network rules see two sites in the same address space). It is
  // reached as 127.0.0.1 (the listed origin) and as localhost (another one).
  let site: Server;
  const pages = new Map<string, string>();
  let SHOP: string;
  let OTHER: string;

  // Registered before elementSuite's, so the listed origin is known when Liveop starts.
  beforeAll(async () => {
    site = createServer((request, response) => {
      const html = pages.get(request.url ?? '');
      response.writeHead(html ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' }).end(html ?? '');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const { port } = site.address() as AddressInfo;
    SHOP = `http://127.0.0.1:${port}`;
    OTHER = `http://localhost:${port}`;
  });
  afterAll(() => new Promise<void>((resolve) => site?.close(() => resolve())));
  const suite = elementSuite(() => ({ apiKeys: { [KEY]: { owner: 'shop' } }, corsOrigins: [SHOP] }));

  const api = async (path: string, body: unknown, token = KEY) => {
    const response = await fetch(`${suite.server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };

  /** A page served from `origin` that embeds the element from the Liveop server. */
  async function embedOn(origin: string, session: CreatedSession): Promise<Page> {
    const page = await suite.browser.newPage();
    const path = `/orders/${session.id}`;
    pages.set(
      path,
      `<!doctype html><html lang="en"><head><meta charset="utf-8">
<script type="module" src="${suite.server.url}/widget.js"></script></head>
<body><h1>Shop admin</h1><live-operation ${attrs(session)}></live-operation></body></html>`,
    );
    await page.goto(`${origin}${path}`);
    await page.waitForFunction(() => customElements.get('live-operation') !== undefined);
    return page;
  }

  it('streams and cancels from an allowed origin', async () => {
    const created = await api('/sessions', {
      title: 'Import orders',
      tasks: { rows: 'Rows' },
      viewerScope: 'view+cancel',
    });
    expect(created.status).toBe(201);
    const session = created.body as CreatedSession;
    const page = await embedOn(SHOP, session);
    expect(new URL(page.url()).origin).toBe(SHOP);

    await waitForShadowText(page, '[part~=title]', 'Import orders');
    await api(
      `/sessions/${session.id}/events`,
      [{ type: 'steps', task: 'rows', done: 40, total: 100 }],
      session.reporterToken,
    );
    await waitForShadowText(page, '[part~=task-detail]', '40 / 100');

    // The cancel carries an Authorization header across origins, so Chromium preflights it.
    const button = page.locator('live-operation').locator('[part~=cancel-button]');
    await button.click();
    const cancelAnswer = page.waitForResponse(
      (r) => new URL(r.url()).pathname === `/sessions/${session.id}/cancel` && r.request().method() === 'POST',
    );
    await button.click();
    expect((await cancelAnswer).status()).toBe(202);
    await waitForShadowText(page, '[part~=status]', 'Cancelling…');
    const answer = await api(`/sessions/${session.id}/events`, [{ type: 'heartbeat' }], session.reporterToken);
    expect(answer.body.cancelRequested).toBe(true);
  });

  it('cannot read a session from an origin the server does not list', async () => {
    const session = (await api('/sessions', { title: 'Payroll', tasks: { pay: 'Pay' } })).body as CreatedSession;
    const page = await embedOn(OTHER, session);
    // The browser withholds the answer from the page: the fetch itself fails.
    const read = await page.evaluate(
      (s) =>
        fetch(s.snapshotUrl, { headers: { authorization: `Bearer ${s.viewerToken}` } }).then(
          (r) => `read ${r.status}`,
          (e: Error) => e.name,
        ),
      session,
    );
    expect(read).toBe('TypeError');
    // And the element never shows what it could not read.
    // A refused read gives the page nothing to wait on: time for the element to have tried.
    await page.waitForTimeout(500);
    expect(await shadowText(page, '[part~=title]')).not.toBe('Payroll');
  });
});
