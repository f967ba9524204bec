/**
 * `<live-operation>`'s connection, in real Chromium against the real server:
 * one multiplexed stream for many elements, resuming a killed stream with
 * every log line exactly once, polling when a proxy buffers the stream, and
 * letting go of everything when the element leaves the page.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chromium } from '../support/requirements.ts';
import {
  attrs,
  elementSuite,
  openPage,
  recordEvents,
  recordedEvents,
  shadowText,
  waitForShadowText,
} from './browser.ts';

const req = chromium();

/** A TCP proxy in front of the server whose open connections a test can cut, as a flaky network would. */
async function startProxy(target: string): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const listener: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const address = listener.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        listener.close(() => resolve());
      }),
  };
}

/** URLs of the stream requests the page makes. */
function streamRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname.endsWith('/stream')) urls.push(request.url());
  });
  return urls;
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeout = 10_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const logLines = (page: Page, n = 0) =>
  page.evaluate(
    (n) =>
      [...document.querySelectorAll('live-operation')[n]!.shadowRoot!.querySelectorAll('[part~=log-line]')].map(
        (li) => li.textContent,
      ),
    n,
  );

describe.skipIf(!req.available)('<live-operation> connection', () => {
  const suite = elementSuite();

  it('shares one multiplexed connection among ten elements on a page, each showing its own session', async () => {
    const sessions = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        suite.reporter.create({ title: `Job ${i + 1}`, tasks: { work: `Work ${i + 1}` } }),
      ),
    );
    const page = await suite.browser.newPage();
    const streams = streamRequests(page);
    await page.route(`${suite.server.url}/__page__`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><script type="module" src="/widget.js"></script>${sessions
          .map((s) => `<live-operation ${attrs(s)}></live-operation>`)
          .join('')}`,
      }),
    );
    await page.goto(`${suite.server.url}/__page__`);
    for (const [i] of sessions.entries()) await waitForShadowText(page, '[part~=title]', `Job ${i + 1}`, i);
    expect(streams).toHaveLength(1);
    const url = new URL(streams[0]!);
    expect(url.pathname).toBe('/stream');
    expect(url.searchParams.getAll('session')).toEqual(sessions.map((s) => s.id));
    expect(url.searchParams.getAll('token')).toEqual(sessions.map((s) => s.viewerToken));
    expect(suite.server.liveop.stats().connections).toBe(1);

    await Promise.all(
      sessions.map((s, i) =>
        suite.reporter.send(s, [
          { type: 'start', task: 'work' },
          { type: 'log', line: `log of job ${i + 1}` },
          { type: 'complete', task: 'work' },
        ]),
      ),
    );
    for (const [i] of sessions.entries()) {
      await waitForShadowText(page, '[part~=status]', 'Complete', i);
      await waitForShadowText(page, '[part~=log-toggle]', 'Log (1)', i);
    }
    expect(streams).toHaveLength(1);
    await page.close();
  });

  it('resumes a stream cut mid-way with after/logAfter, showing every log line exactly once, in order', async () => {
    const proxy = await startProxy(suite.server.url);
    try {
      const session = await suite.reporter.create({ title: 'Flaky network', tasks: { t: 'Task' } });
      await suite.reporter.send(session, [{ type: 'start', task: 't' }]);
      // The page itself comes through the proxy too (same origin, as a site behind it would be).
      const src = session.streamUrl.replace(suite.server.url, proxy.url);
      let streams: string[] = [];
      const { page } = await openPage(
        suite.browser,
        proxy.url,
        `<live-operation src="${src}" token="${session.viewerToken}" log-open max-log-lines="0"></live-operation>`,
        { before: (page) => (streams = streamRequests(page)) },
      );
      await recordEvents(page);
      let next = 1;
      const send = async (count: number) => {
        const lines = Array.from({ length: count }, () => `line ${next++}`);
        await suite.reporter.send(session, [{ type: 'log', lines }]);
      };
      for (let i = 0; i < 4; i++) await send(5);
      await until(async () => (await logLines(page)).length === 20, '20 lines');

      // Cut the connection; keep reporting while the element is away and while it comes back.
      proxy.cut();
      await send(10);
      for (let i = 0; i < 10; i++) {
        await send(3);
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
      await until(() => streams.length >= 2, 'a second stream request');
      proxy.cut();
      await send(10);
      await suite.reporter.send(session, [{ type: 'complete', task: 't' }]);
      await waitForShadowText(page, '[part~=status]', 'Complete', 0, 15_000);

      const total = next - 1;
      expect(total).toBe(70);
      expect(await logLines(page)).toEqual(Array.from({ length: total }, (_, i) => `line ${i + 1}`));
      // The reconnections asked to resume from what the element had.
      const resumed = streams.slice(1).map((u) => new URL(u).searchParams);
      expect(resumed.length).toBeGreaterThanOrEqual(2);
      for (const params of resumed) {
        expect(Number(params.get('after'))).toBeGreaterThan(0);
        expect(Number(params.get('logAfter'))).toBeGreaterThanOrEqual(20);
      }
      const states = (await recordedEvents(page))
        .filter((e) => e.type === 'live-operation-connection')
        .map((e) => e.detail);
      expect(states).toContain('reconnecting');
      expect(states.at(-1)).toBe('closed');
      await page.close();
    } finally {
      await proxy.close();
    }
  });

  it('falls back to polling GET /sessions/:id when no stream line arrives (a buffering proxy)', async () => {
    const session = await suite.reporter.create({ title: 'Behind a buffering proxy', tasks: { t: 'Task' } });
    const page = await suite.browser.newPage();
    // The page's timers run on a clock the test moves: the first-line deadline and the polls come when it says.
    await page.clock.install();
    // The "proxy" holds every stream response back.
    await page.route(
      (url) => url.pathname.endsWith('/stream'),
      () => {},
    );
    const polls: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === `/sessions/${session.id}`) polls.push(r.url());
    });
    await page.route(`${suite.server.url}/__page__`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><script type="module" src="/widget.js"></script><live-operation ${attrs(session)}></live-operation>`,
      }),
    );
    await page.goto(`${suite.server.url}/__page__`);
    await recordEvents(page);
    /** Moves the page's clock on, a poll interval's quarter at a time, until `selector` shows `text`. */
    const advanceUntil = async (selector: string, text: string) => {
      const end = Date.now() + 15_000;
      while (!((await shadowText(page, selector)) ?? '').includes(text)) {
        if (Date.now() > end) throw new Error(`${selector} never showed "${text}"`);
        await page.clock.runFor(500);
      }
    };
    await advanceUntil('[part~=title]', 'Behind a buffering proxy');
    expect(polls.length).toBeGreaterThanOrEqual(1);
    await advanceUntil('[part~=meta]', 'Live updates delayed');

    await suite.reporter.send(session, [
      { type: 'start', task: 't' },
      { type: 'log', lines: ['one', 'two'] },
    ]);
    await advanceUntil('[part~=status]', 'Running');
    await suite.reporter.send(session, [
      { type: 'log', line: 'three' },
      { type: 'complete', task: 't' },
    ]);
    await advanceUntil('[part~=status]', 'Complete');
    await advanceUntil('[part~=log-toggle]', 'Log (3)');
    expect((await recordedEvents(page)).map((e) => e.detail)).toContain('polling');
    // Finished: the polling stops, however long the page stays open.
    const count = polls.length;
    await page.clock.runFor(60_000);
    expect(polls.length).toBe(count);
    await page.close();
  });

  it('closes its connection and stops every timer when removed from the page', async () => {
    const session = await suite.reporter.create({ title: 'Leaving', tasks: { t: 'Task' } });
    await suite.reporter.send(session, [{ type: 'start', task: 't' }]);
    // The page's timers run on a clock the test moves: "however long" is a minute in no time.
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}></live-operation>`,
      { before: (page) => page.clock.install() },
    );
    await waitForShadowText(page, '[part~=status]', 'Running');
    await until(() => suite.server.liveop.stats().connections === 1, 'the server to hold one stream');
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));

    await page.evaluate(() => document.querySelector('live-operation')!.remove());
    await until(() => suite.server.liveop.stats().connections === 0, 'the server to see the stream closed');
    // Nothing comes back: no reconnect, no poll, however long we wait.
    await suite.reporter.send(session, [{ type: 'percent', task: 't', value: 50 }]);
    // Past the silence limit (45 s), the longest backoff (30 s) and many poll intervals.
    await page.clock.runFor(60_000);
    expect(requests).toEqual([]);
    await page.close();
  });

  it('reopens the shared connection without an element that left, and the others carry on', async () => {
    const [a, b] = await Promise.all([
      suite.reporter.create({ title: 'Stays', tasks: { t: 'Task' } }),
      suite.reporter.create({ title: 'Leaves', tasks: { t: 'Task' } }),
    ]);
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(a)} log-open></live-operation><live-operation ${attrs(b)}></live-operation>`,
    );
    const streams = streamRequests(page);
    await waitForShadowText(page, '[part~=title]', 'Leaves', 1);
    await suite.reporter.send(a, [
      { type: 'start', task: 't' },
      { type: 'log', line: 'before' },
    ]);
    await waitForShadowText(page, '[part~=log-line]', 'before');
    await page.evaluate(() => document.querySelectorAll('live-operation')[1]!.remove());
    await until(() => streams.length === 1, 'a new stream request');
    expect(new URL(streams[0]!).pathname).toBe(`/sessions/${a.id}/stream`);
    await suite.reporter.send(a, [
      { type: 'log', line: 'after' },
      { type: 'complete', task: 't' },
    ]);
    await waitForShadowText(page, '[part~=status]', 'Complete');
    expect(await logLines(page)).toEqual(['before', 'after']);
    await until(() => suite.server.liveop.stats().connections === 0, 'every stream closed');
    await page.close();
  });

  it('says so when the session is deleted while it watches', async () => {
    const session = await suite.reporter.create({ title: 'Doomed', tasks: { t: 'Task' } });
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}></live-operation>`,
    );
    await waitForShadowText(page, '[part~=title]', 'Doomed');
    const deleted = await fetch(`${suite.server.url}/sessions/${session.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${session.reporterToken}` },
    });
    expect(deleted.status).toBeLessThan(300);
    await waitForShadowText(page, '[part~=problem]', 'No longer available');
    expect(
      await page.evaluate(() =>
        document.querySelector('live-operation')!.shadowRoot!.querySelector('[part~=cancel-button]'),
      ),
    ).toBeNull();
    await page.close();
  });
});
