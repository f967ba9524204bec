/**
 * Shared by the element's browser tests: Debian's Chromium driven by
 * playwright-core, pages served on the real server's origin (so
 * `/widget.js` — the built `dist/live-operation.js` — loads as any site
 * would load it), and a reporter that drives sessions over HTTP.
 */
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { CreatedSession, EventsAccepted, ProgressEvent, Snapshot } from '../../protocol/index.ts';
import type { LiveopOptions } from '../../server/liveop.ts';
import { assertBuilt as assertBuiltFrom } from '../support/built.ts';
import { CHROMIUM_PATH } from '../support/requirements.ts';
import { startServer, type TestServer } from '../support/server.ts';

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export interface ElementSuite {
  browser: Browser;
  server: TestServer;
  reporter: Reporter;
}

/**
 * What every element suite shares, registered inside its `describe`:
 * Chromium and the real server started before the tests (the server with
 * `options()`, read then), every page closed after each test (a page a failed
 * test left open would keep its streams open for the next), both closed at
 * the end. The fields are set once the suite's tests run.
 */
export function elementSuite(options: () => LiveopOptions = () => ({})): ElementSuite {
  const suite = {} as ElementSuite;
  beforeAll(async () => {
    assertBuilt();
    [suite.browser, suite.server] = await Promise.all([launch(), startServer(options())]);
    suite.reporter = new Reporter(suite.server.url);
  });
  afterEach(async () => {
    await Promise.all(suite.browser.contexts().map((context) => context.close()));
  });
  afterAll(async () => {
    await suite.browser?.close();
    await suite.server?.close();
  });
  return suite;
}

/**
 * Opens `body` as a page at `origin` (the server's, unless told), with the
 * element loaded from `origin/widget.js`, and waits until it is defined.
 * Page errors fail the test that reads `errors`.
 */
export async function openPage(
  browser: Browser,
  origin: string,
  body: string,
  options: {
    head?: string;
    lang?: string;
    colorScheme?: 'light' | 'dark';
    before?: (page: Page) => unknown;
  } = {},
): Promise<{ page: Page; errors: Error[] }> {
  const page = await browser.newPage({ colorScheme: options.colorScheme ?? 'light' });
  await options.before?.(page);
  const errors: Error[] = [];
  page.on('pageerror', (error) => errors.push(error));
  const html = `<!doctype html><html lang="${options.lang ?? 'en'}"><head><meta charset="utf-8">${options.head ?? ''}
<script type="module" src="${origin}/widget.js"></script></head><body>${body}</body></html>`;
  await page.route(`${origin}/__page__`, (route) => route.fulfill({ contentType: 'text/html', body: html }));
  await page.goto(`${origin}/__page__`);
  await page.waitForFunction(() => customElements.get('live-operation') !== undefined);
  return { page, errors };
}

/** A reporter: creates sessions and posts their events over HTTP, as any backend would. */
export class Reporter {
  constructor(readonly url: string) {}

  async create(body: Record<string, unknown>): Promise<CreatedSession> {
    const response = await fetch(`${this.url}/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status !== 201) throw new Error(`create: ${response.status} ${await response.text()}`);
    return (await response.json()) as CreatedSession;
  }

  async send(session: CreatedSession, events: ProgressEvent[]): Promise<EventsAccepted> {
    const response = await fetch(`${this.url}/sessions/${session.id}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${session.reporterToken}` },
      body: JSON.stringify(events),
    });
    if (response.status !== 200) throw new Error(`events: ${response.status} ${await response.text()}`);
    return (await response.json()) as EventsAccepted;
  }
}

/** The element's `src`/`token` attributes for a created session. */
export const attrs = (session: CreatedSession): string => `src="${session.streamUrl}" token="${session.viewerToken}"`;

/** Text of the first match of `selector` in the shadow root of the `n`th `<live-operation>`. */
export function shadowText(page: Page, selector: string, n = 0): Promise<string | null> {
  return page.evaluate(
    ([selector, n]) =>
      document.querySelectorAll('live-operation')[n]?.shadowRoot?.querySelector(selector)?.textContent?.trim() ?? null,
    [selector, n] as const,
  );
}

/** Waits until the shadow text of `selector` satisfies `test` (a substring or a pattern). */
export async function waitForShadowText(
  page: Page,
  selector: string,
  test: string | RegExp,
  n = 0,
  timeout = 10_000,
): Promise<void> {
  const pattern = typeof test === 'string' ? test : test.source;
  const flags = typeof test === 'string' ? null : test.flags;
  await page
    .waitForFunction(
      ([selector, pattern, flags, n]) => {
        const text = document
          .querySelectorAll('live-operation')
          [n as number]?.shadowRoot?.querySelector(selector as string)?.textContent;
        if (text == null) return false;
        return flags === null ? text.includes(pattern as string) : new RegExp(pattern as string, flags).test(text);
      },
      [selector, pattern, flags, n] as const,
      { timeout },
    )
    .catch(async (error: Error) => {
      const actual = await shadowText(page, selector, n);
      throw new Error(`${selector} never matched ${test}; it reads ${JSON.stringify(actual)}\n${error.message}`);
    });
}

/** In the page: collects the element events (their type and detail) into `window.__events`. */
function collectEvents(): void {
  const events: { type: string; detail: unknown }[] = [];
  (window as unknown as { __events: typeof events }).__events = events;
  for (const type of [
    'live-operation-update',
    'live-operation-complete',
    'live-operation-error',
    'live-operation-cancelled',
    'live-operation-chain',
    'live-operation-connection',
    'live-operation-cancel',
  ])
    document.addEventListener(type, (event) => events.push({ type, detail: (event as CustomEvent).detail }));
}

/** Collects the element events of the page (their type and detail) into `window.__events`. */
export async function recordEvents(page: Page): Promise<void> {
  await page.evaluate(collectEvents);
}

/** Collects them from before the page's own scripts run (in `openPage`'s `before`), so none is missed. */
export async function recordEventsFromTheStart(page: Page): Promise<void> {
  await page.addInitScript(collectEvents);
}

export function recordedEvents(page: Page): Promise<{ type: string; detail: unknown }[]> {
  return page.evaluate(() => (window as unknown as { __events: { type: string; detail: unknown }[] }).__events);
}

/** A snapshot to feed the element through its `snapshot` property. */
export function snapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  return {
    type: 'snapshot',
    id: 'fed',
    version: 1,
    title: 'Fed by the host',
    status: 'running',
    percent: 0,
    etaMs: null,
    tasks: [],
    stages: [],
    message: null,
    logs: [],
    logSeq: 0,
    result: null,
    artifacts: [],
    error: null,
    cancelRequested: false,
    next: null,
    createdAt: new Date().toISOString(),
    startedAt: new Date().toISOString(),
    finishedAt: null,
    expiresAt: new Date(Date.now() + 300_000).toISOString(),
    ...overrides,
  };
}

/**
 * The tests load the built bundle (as `/widget.js`); fail early when it is
 * missing or older than the element's sources, rather than test stale code.
 */
export function assertBuilt(): void {
  assertBuiltFrom('dist/live-operation.js', ['widget']);
}
