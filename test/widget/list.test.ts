/**
 * `<live-operation-list>` in real Chromium against the real server, loaded
 * as a list page loads it — one script tag, `/widget-list.js`, with Lit and
 * `<live-operation>` inside: what it lists and in which order, the filters
 * and query attributes and the requests they make, live through the list
 * stream (a session created after it opened appears within a second, with
 * nothing running before), refreshing only behind a backend that cannot
 * stream (and only while something runs), row actions, a parent's roll-up
 * and nested children, rows that open a live `<live-operation>`, paging, and
 * titles rendered as text. Each test lists only its own sessions, by a title
 * search, tag or parent of its own.
 */
import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CreatedSession } from '../../protocol/index.ts';
import { assertBuilt } from '../support/built.ts';
import { chromium } from '../support/requirements.ts';
import { type ElementSuite, elementSuite } from './browser.ts';

const req = chromium();
const KEY = 'admin-key-0123456789abcdef';

/** What a row shows. */
interface Row {
  title: string;
  status: string;
  percent: string;
  valueNow: string | null;
  age: string;
  expanded: string | null;
}

interface ListPage {
  page: Page;
  errors: Error[];
  /** The query strings of the page's requests for a page of the list URL (JSON), in order. */
  requests: string[];
  /** The query strings of the list streams the server answered (NDJSON asked for), in order. */
  streams: string[];
}

/**
 * Opens a page on the server's origin whose only script is `/widget-list.js`,
 * with `body`; records the requests to `listPath` and the list's open events.
 */
async function openList(suite: ElementSuite, body: string, listPath = '/sessions'): Promise<ListPage> {
  const origin = suite.server.url;
  const page = await suite.browser.newPage({ colorScheme: 'light' });
  const errors: Error[] = [];
  const requests: string[] = [];
  const streams: string[] = [];
  const streamed = (headers: Record<string, string>) => /ndjson/.test(headers.accept ?? '');
  page.on('pageerror', (error) => errors.push(error));
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname === listPath && !streamed(request.headers())) requests.push(url.search);
  });
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (url.pathname === listPath && streamed(response.request().headers()) && response.ok()) streams.push(url.search);
  });
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<script type="module" src="${origin}/widget-list.js"></script></head><body>${body}
<script>window.__opened = []; document.addEventListener('live-operation-list-open', (e) => __opened.push(e.detail));</script>
</body></html>`;
  await page.route(`${origin}/__list__`, (route) => route.fulfill({ contentType: 'text/html', body: html }));
  await page.goto(`${origin}/__list__`);
  await page.waitForFunction(
    () => customElements.get('live-operation-list') !== undefined && customElements.get('live-operation') !== undefined,
  );
  return { page, errors, requests, streams };
}

/** The rows of the page's (first) list, or of the list `selector` finds through the first one's shadow root. */
function rows(page: Page, nested = false): Promise<Row[]> {
  return page.evaluate((nested) => {
    let root = document.querySelector('live-operation-list')!.shadowRoot!;
    if (nested) root = root.querySelector('[part~=children]')!.shadowRoot!;
    return [...root.querySelectorAll('[part~=base] > ul > li[part~=item]')].map((li) => ({
      title: li.querySelector('[part~=title]')!.textContent!,
      status: li.querySelector('[part~=status]')!.textContent!.trim(),
      percent: li.querySelector('[part~=percent]')!.textContent!.trim(),
      valueNow: li.querySelector('[role=progressbar]')!.getAttribute('aria-valuenow'),
      age: li.querySelector('[part~=age]')!.textContent!.trim(),
      expanded: li.querySelector('button[part~=toggle]')!.getAttribute('aria-expanded'),
    }));
  }, nested);
}

/** `expect.poll` with room for a refresh and a slow machine. */
const poll = <T>(check: () => T | Promise<T>) => expect.poll(check, { timeout: 10_000 });
const titles = async (page: Page) => (await rows(page)).map((row) => row.title);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A word of the test's own, for titles and the search. */
const word = () => `w${randomUUID().slice(0, 8)}`;

describe.skipIf(!req.available)('<live-operation-list> in Chromium', () => {
  const suite = elementSuite();
  beforeAll(() => assertBuilt('dist/live-operation-list.js', ['widget']));

  /** A session whose percent stays where it was reported (the simulation's pace: an hour). */
  const create = (title: string) =>
    suite.reporter.create({ title, tasks: [{ id: 'work', name: 'Work', expectedMs: 3_600_000 }] });
  const run = (session: CreatedSession, percent: number) =>
    suite.reporter.send(session, [
      { type: 'start', task: 'work' },
      { type: 'percent', task: 'work', value: percent },
    ]);
  /** Completes the session, and waits until the server says `complete`. */
  const finish = async (session: CreatedSession) => {
    await suite.reporter.send(session, [{ type: 'complete', task: 'work' }]);
    await poll(async () => {
      const response = await fetch(`${session.snapshotUrl}?token=${session.viewerToken}`);
      return ((await response.json()) as { status: string }).status;
    }).toBe('complete');
  };

  it('lists sessions newest first with their status, percent and age', async () => {
    const w = word();
    const waiting = await create(`${w} waiting`);
    await sleep(5);
    const running = await create(`${w} running`);
    await run(running, 40);
    await sleep(5);
    const done = await create(`${w} done`);
    await run(done, 10);
    await finish(done);
    const { page, errors, requests } = await openList(
      suite,
      `<live-operation-list query="${w}"></live-operation-list>`,
    );

    await poll(() => rows(page)).toMatchObject([
      { title: `${w} done`, status: 'Complete', percent: '100%', valueNow: '100', expanded: 'false' },
      { title: `${w} running`, status: 'Running', percent: '40%', valueNow: '40', expanded: 'false' },
      { title: `${w} waiting`, status: 'Waiting to start', percent: '0%', valueNow: '0', expanded: 'false' },
    ]);
    for (const row of await rows(page)) expect(row.age).toMatch(/^(now|\d+ sec\. ago)$/);
    expect(new URLSearchParams(requests[0]).get('q')).toBe(w);
    expect(new URLSearchParams(requests[0]).get('limit')).toBe('20');
    expect(waiting.id).not.toBe(running.id);
    // A real list, with buttons that say what they open.
    const a11y = await page.evaluate(() => {
      const root = document.querySelector('live-operation-list')!.shadowRoot!;
      return {
        list: root.querySelector('[part~=list]')!.tagName,
        button: root.querySelector('button[part~=toggle]')!.getAttribute('aria-label'),
        select: root.querySelector('select')!.labels![0]!.textContent,
        search: (root.querySelector('input[type=search]') as HTMLInputElement).labels![0]!.textContent,
      };
    });
    expect(a11y).toEqual({
      list: 'UL',
      button: `Live progress of ${w} done`,
      select: 'Status',
      search: 'Search titles',
    });
    expect(errors).toEqual([]);
  });

  it('narrows the list with the status filter and the title search, asking the server with status= and q=', async () => {
    const w = word();
    const running = await create(`${w} alpha running`);
    await run(running, 20);
    const done = await create(`${w} beta done`);
    await run(done, 50);
    await finish(done);
    await create(`${w} gamma waiting`);
    const { page, requests } = await openList(suite, `<live-operation-list query="${w}"></live-operation-list>`);
    await poll(() => titles(page)).toHaveLength(3);

    await page.selectOption('live-operation-list select', 'running');
    await poll(() => titles(page)).toEqual([`${w} alpha running`]);
    expect(new URLSearchParams(requests.at(-1)).get('status')).toBe('running');
    await page.selectOption('live-operation-list select', 'complete');
    await poll(() => titles(page)).toEqual([`${w} beta done`]);
    expect(new URLSearchParams(requests.at(-1)).get('status')).toBe('complete');
    await page.selectOption('live-operation-list select', 'pending');
    await poll(() => titles(page)).toEqual([`${w} gamma waiting`]);

    // Back to all, then typed into the search: one request once the typing stops (debounced).
    await page.selectOption('live-operation-list select', '');
    await poll(() => titles(page)).toHaveLength(3);
    expect(new URLSearchParams(requests.at(-1)).has('status')).toBe(false);
    const before = requests.length;
    const search = page.locator('live-operation-list input[type=search]');
    await search.click();
    await search.press('End');
    await search.pressSequentially(' beta', { delay: 30 });
    await poll(() => titles(page)).toEqual([`${w} beta done`]);
    // Debounced: fewer requests than keys typed, the last with the whole text (on a loaded machine a
    // pause between two keys may outlast the debounce, so not always exactly one).
    const searches = requests.slice(before).map((query) => new URLSearchParams(query).get('q'));
    expect(searches.at(-1)).toBe(`${w} beta`);
    expect(searches.length).toBeLessThan(' beta'.length);

    await search.fill('no such title anywhere');
    await poll(() =>
      page.evaluate(() => document.querySelector('live-operation-list')!.shadowRoot!.textContent),
    ).toContain('No operations');
    expect(await titles(page)).toEqual([]);
  });

  it("moves a running session's percent and status live, from the list's stream, with no further request", async () => {
    const w = word();
    const session = await create(`${w} import`);
    await run(session, 30);
    const { page, requests, streams } = await openList(
      suite,
      `<live-operation-list query="${w}" refresh-interval="100"></live-operation-list>`,
    );
    await poll(() => rows(page)).toMatchObject([{ status: 'Running', percent: '30%' }]);
    await poll(() => streams.length).toBe(1);
    expect(new URLSearchParams(streams[0]).get('q')).toBe(w);

    await suite.reporter.send(session, [{ type: 'percent', task: 'work', value: 70 }]);
    await poll(async () => Number.parseInt((await rows(page))[0]!.percent, 10)).toBeGreaterThanOrEqual(70);
    await finish(session);
    await poll(() => rows(page)).toMatchObject([{ status: 'Complete', percent: '100%' }]);
    // One page, one stream: the refresh interval applies only to a list that cannot stream.
    expect(requests).toHaveLength(1);
    expect(streams).toHaveLength(1);
  });

  /**
   * A backend list route that answers JSON whatever it is asked (it does not
   * pass the stream on): the list falls back to refreshing.
   */
  const jsonOnlyBackend = (page: Page, path: string) =>
    page.route(`${suite.server.url}${path}?*`, async (route) => {
      const url = new URL(route.request().url());
      const answer = await route.fetch({ url: `${suite.server.url}/sessions${url.search}`, headers: {} });
      await route.fulfill({ response: answer });
    });

  /** A list of the sessions titled with `w`, refreshing every 100 ms, behind `jsonOnlyBackend`. */
  const openJsonOnly = async (w: string) => {
    const list = await openList(suite, '', '/json-only');
    await jsonOnlyBackend(list.page, '/json-only');
    await list.page.evaluate((w) => {
      document.body.insertAdjacentHTML(
        'beforeend',
        `<live-operation-list src="/json-only" query="${w}" refresh-interval="100"></live-operation-list>`,
      );
    }, w);
    return list;
  };

  it('behind a backend that cannot stream, refreshes while something runs, and stops once nothing does', async () => {
    const w = word();
    const session = await create(`${w} import`);
    await run(session, 30);
    const { page, requests } = await openJsonOnly(w);
    await poll(() => rows(page)).toMatchObject([{ status: 'Running', percent: '30%' }]);

    await suite.reporter.send(session, [{ type: 'percent', task: 'work', value: 70 }]);
    await poll(async () => Number.parseInt((await rows(page))[0]!.percent, 10)).toBeGreaterThanOrEqual(70);
    expect(requests.length).toBeGreaterThan(1);

    await finish(session);
    await poll(() => rows(page)).toMatchObject([{ status: 'Complete', percent: '100%' }]);
    const settled = requests.length;
    await sleep(400); // only time passing shows that no refresh comes: four refresh intervals
    expect(requests.length).toBe(settled);
  });

  it('behind a backend that cannot stream, pauses refreshing while the tab is hidden, catches up when shown, and stops when the element leaves', async () => {
    const w = word();
    await run(await create(`${w} long job`), 10);
    const { page, requests } = await openJsonOnly(w);
    await poll(() => requests.length).toBeGreaterThan(2);

    const visibility = (hidden: boolean) =>
      page.evaluate((hidden) => {
        Object.defineProperty(document, 'hidden', { value: hidden, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    await visibility(true);
    await sleep(100); // a refresh already under way may still land
    const hidden = requests.length;
    await sleep(400); // only time passing shows that no refresh comes: four refresh intervals
    expect(requests.length).toBe(hidden);
    await visibility(false);
    await poll(() => requests.length).toBeGreaterThan(hidden);

    await page.evaluate(() => document.querySelector('live-operation-list')!.remove());
    await sleep(100); // a refresh already under way may still land
    const gone = requests.length;
    await sleep(400); // only time passing shows that no refresh comes: four refresh intervals
    expect(requests.length).toBe(gone);
  });

  it('opens a row as a live <live-operation> of its session, one at a time, and fires live-operation-list-open', async () => {
    const w = word();
    const first = await create(`${w} first`);
    await sleep(5);
    const second = await create(`${w} second`);
    await run(second, 25);
    const { page, errors } = await openList(suite, `<live-operation-list query="${w}"></live-operation-list>`);
    await poll(() => titles(page)).toEqual([`${w} second`, `${w} first`]);

    const inner = (selector: string) =>
      page.evaluate(
        (selector) =>
          document
            .querySelector('live-operation-list')!
            .shadowRoot!.querySelector('live-operation')
            ?.shadowRoot?.querySelector(selector)
            ?.textContent?.trim() ?? null,
        selector,
      );
    await page.locator('live-operation-list button[part~=toggle]').first().click();
    await poll(() => rows(page)).toMatchObject([{ expanded: 'true' }, { expanded: 'false' }]);
    await poll(() => inner('[part~=title]')).toBe(`${w} second`);
    await poll(() => inner('[part~=overall-percent]')).toBe('25%');
    // Live: what the reporter sends next shows without a reload.
    await suite.reporter.send(second, [{ type: 'message', text: 'Halfway through the rows' }]);
    await poll(() => inner('[part~=message]')).toBe('Halfway through the rows');
    expect(await page.evaluate(() => (window as unknown as { __opened: string[] }).__opened)).toEqual([second.id]);

    // Opening another closes the first; pressing it again closes it.
    await page.locator('live-operation-list button[part~=toggle]').nth(1).click();
    await poll(() => rows(page)).toMatchObject([{ expanded: 'false' }, { expanded: 'true' }]);
    await poll(() => inner('[part~=title]')).toBe(`${w} first`);
    await page.locator('live-operation-list button[part~=toggle]').nth(1).click();
    await poll(() => rows(page)).toMatchObject([{ expanded: 'false' }, { expanded: 'false' }]);
    expect(await inner('[part~=title]')).toBeNull();

    // preventDefault() keeps the row closed (a host that shows the session elsewhere).
    await page.evaluate(() =>
      document.addEventListener('live-operation-list-open', (event) => event.preventDefault(), { once: true }),
    );
    await page.locator('live-operation-list button[part~=toggle]').first().click();
    await sleep(100); // only time passing shows that the row stays closed
    expect((await rows(page))[0]!.expanded).toBe('false');
    expect(await page.evaluate(() => (window as unknown as { __opened: string[] }).__opened)).toEqual([
      second.id,
      first.id,
      second.id,
    ]);
    expect(errors).toEqual([]);
  });

  it('pages with "Load more" and the cursor, newest first throughout', async () => {
    const w = word();
    const created: string[] = [];
    for (let i = 1; i <= 5; i++) {
      created.unshift(`${w} batch ${i}`);
      await create(`${w} batch ${i}`);
      await sleep(5);
    }
    const { page, requests } = await openList(
      suite,
      `<live-operation-list query="${w}" limit="2"></live-operation-list>`,
    );
    await poll(() => titles(page)).toEqual(created.slice(0, 2));
    const more = page.locator('live-operation-list button[part~=more-button]');
    expect(await more.textContent()).toContain('Load more');
    await more.click();
    await poll(() => titles(page)).toEqual(created.slice(0, 4));
    await more.click();
    await poll(() => titles(page)).toEqual(created);
    const cursors = requests.map((query) => new URLSearchParams(query).get('cursor')).filter(Boolean);
    expect(cursors).toHaveLength(2);
    expect(requests.every((query) => new URLSearchParams(query).get('limit') === '2')).toBe(true);
  });

  it('renders hostile titles as text, in the row and in the opened element', async () => {
    const w = word();
    const hostile = `${w} <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
    const session = await create(hostile);
    await run(session, 5);
    const { page, errors } = await openList(suite, `<live-operation-list query="${w}"></live-operation-list>`);
    await poll(() => titles(page)).toEqual([hostile]);
    await page.locator('live-operation-list button[part~=toggle]').click();
    await poll(() =>
      page.evaluate(
        () =>
          document
            .querySelector('live-operation-list')!
            .shadowRoot!.querySelector('live-operation')
            ?.shadowRoot?.querySelector('[part~=title]')?.textContent,
      ),
    ).toBe(hostile);
    const injected = await page.evaluate(() => {
      const root = document.querySelector('live-operation-list')!.shadowRoot!;
      return {
        elements: root.querySelectorAll('img, script').length,
        inner: root.querySelector('live-operation')!.shadowRoot!.querySelectorAll('img, script').length,
        pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
      };
    });
    expect(injected).toEqual({ elements: 0, inner: 0, pwned: null });
    expect(errors).toEqual([]);
  });
});

describe.skipIf(!req.available)('<live-operation-list> on a keyed server', () => {
  const suite = elementSuite(() => ({ apiKeys: { [KEY]: { owner: 'shop', admin: true } } }));
  const ADMIN_LIST = '/admin/operations';

  it('says that listing needs the backend when pointed at the server itself', async () => {
    const { page } = await openList(suite, '<live-operation-list></live-operation-list>');
    await poll(() =>
      page.evaluate(
        () => document.querySelector('live-operation-list')!.shadowRoot!.querySelector('[part~=problem]')?.textContent,
      ),
    ).toBe('Listing needs an API key: point src at your backend, which adds it');
  });

  it('lists one end user’s sessions with a subject token, no backend route, and cancels from an opened row', async () => {
    const w = word();
    const make = async (title: string, subject: string) => {
      const made = await fetch(`${suite.server.url}/sessions`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ title, subject, tasks: [{ id: 'work', name: 'Work', expectedMs: 3_600_000 }] }),
      });
      expect(made.status).toBe(201);
      return (await made.json()) as CreatedSession;
    };
    const mine = await make(`${w} mine`, 'user-7');
    await make(`${w} someone else's`, 'user-8');
    const minted = await fetch(`${suite.server.url}/tokens`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ subject: 'user-7', scope: 'view+cancel', owner: 'shop' }),
    });
    expect(minted.status).toBe(201);
    const { token } = (await minted.json()) as { token: string };
    const { page, errors } = await openList(
      suite,
      `<live-operation-list query="${w}" token="${token}"></live-operation-list>`,
    );
    await poll(() => titles(page)).toEqual([`${w} mine`]);
    // The row opens a live <live-operation> whose token may cancel, as the subject token may.
    await page.locator('live-operation-list button[part~=toggle]').first().click();
    const opened = page.locator('live-operation-list live-operation');
    // Cancel, then the same button again to confirm.
    await opened.locator('button[part~=cancel-button]').click();
    await opened.locator('button[part~=cancel-button]').click();
    await poll(async () => {
      const answer = await fetch(`${mine.snapshotUrl}`, { headers: { Authorization: `Bearer ${KEY}` } });
      return ((await answer.json()) as { cancelRequested: boolean }).cancelRequested;
    }).toBe(true);
    expect(await page.content()).not.toContain(KEY);
    expect(errors).toEqual([]);
  });

  it("lists through the host's backend (src), with the host's own fetch adding its credentials", async () => {
    const w = word();
    const response = await fetch(`${suite.server.url}/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ title: `${w} nightly export` }),
    });
    expect(response.status).toBe(201);
    const { page, requests } = await openList(suite, '', ADMIN_LIST);
    // The backend: checks the page's own credential and adds the API key, which never reaches the page.
    const seen: (string | null)[] = [];
    await page.route(`${suite.server.url}${ADMIN_LIST}?*`, async (route) => {
      seen.push(route.request().headers()['x-csrf-token'] ?? null);
      const url = new URL(route.request().url());
      const answer = await route.fetch({
        url: `${suite.server.url}/sessions${url.search}`,
        headers: { authorization: `Bearer ${KEY}` },
      });
      await route.fulfill({ response: answer });
    });
    await page.evaluate(
      ([src, w]) => {
        const list = document.createElement('live-operation-list');
        list.fetch = (input, init) => fetch(input, { ...init, headers: { 'x-csrf-token': 'page-token' } });
        list.src = src;
        list.query = w;
        document.body.append(list);
      },
      [ADMIN_LIST, w] as const,
    );
    await poll(() => titles(page)).toEqual([`${w} nightly export`]);
    expect(seen[0]).toBe('page-token');
    expect(new URLSearchParams(requests[0]).get('q')).toBe(w);
    const html = await page.content();
    expect(html).not.toContain(KEY);
  });
});
