/**
 * `<live-operation>` and a busy server, in real Chromium against the real
 * server: a 503 (or 429) answer is retried no sooner than its `Retry-After`
 * says, on the stream and when polling. The real server answers so only
 * under load (its store unavailable, a rate limit), so `page.route` stands
 * in for it, once.
 */
import type { Route } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chromium } from '../support/requirements.ts';
import { attrs, elementSuite, openPage, shadowText, waitForShadowText } from './browser.ts';

const req = chromium();

/** Answers as an overloaded server does. */
const unavailable = (route: Route, seconds: number) =>
  route.fulfill({
    status: 503,
    headers: { 'retry-after': String(seconds) },
    contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'unavailable', message: 'the session store is unavailable; try again' } }),
  });

describe.skipIf(!req.available)('<live-operation> and a busy server', () => {
  const suite = elementSuite();

  it('waits as long as Retry-After says before reconnecting to a stream that answered 503', async () => {
    const session = await suite.reporter.create({ title: 'Overloaded', tasks: { t: 'Task' } });
    const attempts: number[] = [];
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}></live-operation>`,
      {
        before: (p) =>
          void p.route(
            (url) => url.pathname.endsWith('/stream'),
            (route) => (attempts.push(Date.now()) > 1 ? route.continue() : unavailable(route, 3)),
          ),
      },
    );
    await waitForShadowText(page, '[part~=meta]', 'Reconnecting…');
    await waitForShadowText(page, '[part~=title]', 'Overloaded', 0, 8_000);
    expect(attempts).toHaveLength(2);
    // Without Retry-After the first retry comes within half a second.
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(3_000);
  });

  it('waits as long as Retry-After says before polling again after a poll answered 503', async () => {
    const session = await suite.reporter.create({ title: 'Polled under load', tasks: { t: 'Task' } });
    const polls: number[] = [];
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}></live-operation>`,
      {
        before: (p) => {
          // A stream the server refuses sends the element to polling…
          void p.route(
            (url) => url.pathname.endsWith('/stream'),
            (route) => route.fulfill({ status: 400, contentType: 'application/json', body: '{}' }),
          );
          // …and the first poll finds the server overloaded.
          void p.route(
            (url) => url.pathname === `/sessions/${session.id}`,
            (route) => (polls.push(Date.now()) > 1 ? route.continue() : unavailable(route, 4)),
          );
        },
      },
    );
    await waitForShadowText(page, '[part~=title]', 'Polled under load', 0, 8_000);
    // The usual poll interval is 2 s; the answer asked for 4.
    expect(polls[1]! - polls[0]!).toBeGreaterThanOrEqual(4_000);
    await waitForShadowText(page, '[part~=meta]', 'Live updates delayed');
    expect(await shadowText(page, '[part~=problem]')).toBeNull();
  });
});
