/**
 * The element on a host page with a strict Content-Security-Policy: no
 * `unsafe-inline`, no `unsafe-eval`, scripts and connections only from the
 * Liveop server. It renders, streams and cancels, and the browser reports no
 * violation (docs/element.md gives this policy).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedSession } from '../../protocol/index.ts';
import { chromium } from '../support/requirements.ts';
import { attrs, elementSuite, waitForShadowText } from './browser.ts';

const req = chromium();

describe.skipIf(!req.available)('<live-operation> under a strict Content-Security-Policy', () => {
  let site: Server;
  let page = '';
  let SITE: string;
  beforeAll(async () => {
    site = createServer((_, response) => {
      const liveop = suite.server.url;
      response
        .writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': `default-src 'none'; script-src ${liveop}; connect-src ${liveop}; style-src 'self'; base-uri 'none'; form-action 'none'`,
        })
        .end(page);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    SITE = `http://localhost:${(site.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => site?.close(() => resolve())));
  // Open mode lets loopback pages in; the site is on localhost, the server on 127.0.0.1: two origins.
  const suite = elementSuite();

  it('renders, streams and cancels with no violation reported', async () => {
    const created = await suite.reporter.create({ title: 'Under CSP', tasks: { a: 'A' } });
    const session = created as CreatedSession;
    page = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<script type="module" src="${suite.server.url}/widget.js"></script></head>
<body><live-operation ${attrs(session)}></live-operation></body></html>`;
    const tab = await suite.browser.newPage();
    const violations: string[] = [];
    tab.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    await tab.exposeFunction('reportViolation', (text: string) => violations.push(text));
    await tab.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (e) =>
        (window as unknown as { reportViolation(t: string): void }).reportViolation(
          `${e.violatedDirective} ${e.blockedURI}`,
        ),
      ),
    );
    await tab.goto(`${SITE}/`);
    await tab.waitForFunction(() => customElements.get('live-operation') !== undefined);
    await suite.reporter.send(session, [
      { type: 'start', task: 'a' },
      { type: 'percent', task: 'a', value: 40 },
    ]);
    await waitForShadowText(tab, '[part~=status]', 'Running');
    // Styles applied (adoptedStyleSheets need no 'unsafe-inline'): the bar has its color.
    const barColor = await tab.evaluate(() => {
      const root = document.querySelector('live-operation')!.shadowRoot!;
      const fill = root.querySelector('[part~=bar]') ?? root.querySelector('[role=progressbar]');
      return fill ? getComputedStyle(fill).display : null;
    });
    expect(barColor).not.toBe('inline');
    await tab.locator('live-operation').locator('[part~=cancel-button]').click(); // "Cancel"
    await tab.locator('live-operation').locator('[part~=cancel-button]').click(); // "Yes, cancel it"
    await waitForShadowText(tab, '[part~=status]', /Cancel/);
    expect(violations).toEqual([]);
  });
});
