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

/** The title the `<live-operation>` an open row shows. */
const openedTitle = (page: Page) =>
  page.evaluate(
    () =>
      document
        .querySelector('live-operation-list')!
        .shadowRoot!.querySelector('live-operation')
        ?.shadowRoot?.querySelector('[part~=title]')?.textContent,
  );

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

  it('takes its query as attributes — tags, parent, operation, status, since, until, limit — and reloads when one changes', async () => {
    const w = word();
    const tagged = (title: string, tags: Record<string, string>) =>
      suite.reporter.create({ title: `${w} ${title}`, tags, tasks: [{ id: 'work', name: 'Work' }] });
    for (const n of [1, 2]) await tagged(`b1 ${n}`, { batch: `${w}b1` });
    for (const n of [3, 4]) await tagged(`b1 ${n} c42`, { batch: `${w}b1`, customer: '42' });
    for (const n of [5, 6]) await tagged(`b2 ${n}`, { batch: `${w}b2`, customer: '42' });
    const { page, requests, streams, errors } = await openList(
      suite,
      `<live-operation-list tags="batch:${w}b1"></live-operation-list>`,
    );
    await poll(async () => (await titles(page)).sort()).toEqual([
      `${w} b1 1`,
      `${w} b1 2`,
      `${w} b1 3 c42`,
      `${w} b1 4 c42`,
    ]);
    expect(new URLSearchParams(requests[0]).getAll('tag')).toEqual([`batch:${w}b1`]);
    await poll(() => streams.length).toBe(1);
    expect(new URLSearchParams(streams[0]).getAll('tag')).toEqual([`batch:${w}b1`]);

    // Both tags must match; the list is asked again, its stream too.
    await page.evaluate(
      (w) => document.querySelector('live-operation-list')!.setAttribute('tags', `batch:${w}b1 customer:42`),
      w,
    );
    await poll(async () => (await titles(page)).sort()).toEqual([`${w} b1 3 c42`, `${w} b1 4 c42`]);
    expect(new URLSearchParams(requests.at(-1)).getAll('tag')).toEqual([`batch:${w}b1`, 'customer:42']);
    await poll(() => streams.length).toBe(2);

    // Every other filter goes into the query as GET /sessions takes it.
    const filters = {
      parent: 'p-1',
      operation: 'import',
      status: 'running,retrying',
      since: '2026-01-01T00:00:00Z',
      until: '2026-02-01T00:00:00Z',
      limit: '5',
    };
    await page.evaluate((filters) => {
      const list = document.querySelector('live-operation-list')!;
      list.removeAttribute('tags');
      for (const [name, value] of Object.entries(filters)) list.setAttribute(name, value);
    }, filters);
    await poll(() => new URLSearchParams(requests.at(-1)).get('until')).toBe(filters.until);
    expect(Object.fromEntries(new URLSearchParams(requests.at(-1)))).toEqual(filters);
    await poll(() => titles(page)).toEqual([]);
    expect(errors).toEqual([]);
  });

  /** The row action button `action` of the row titled `title`. */
  const actionButton = (page: Page, title: string, action: string) =>
    page.locator('live-operation-list li[part~=item]', { hasText: title }).locator(`button[part~=${action}-action]`);
  const snapshotOf = async (session: CreatedSession) => {
    const response = await fetch(`${session.snapshotUrl}?token=${session.viewerToken}`);
    return response.status === 200 ? ((await response.json()) as { status: string; cancelRequested: boolean }) : null;
  };

  it('cancels a running session and deletes an ended one from their rows, each button labelled with its session', async () => {
    const w = word();
    const running = await create(`${w} running`);
    await run(running, 20);
    const done = await create(`${w} done`);
    await run(done, 50);
    await finish(done);
    const { page, errors } = await openList(suite, `<live-operation-list query="${w}"></live-operation-list>`);
    await poll(() => titles(page)).toEqual([`${w} done`, `${w} running`]);
    // A running session offers cancel, an ended one restart (but not after completing) and delete.
    const labels = () =>
      page.evaluate(() =>
        [...document.querySelector('live-operation-list')!.shadowRoot!.querySelectorAll('button[part~=action]')].map(
          (button) => button.getAttribute('aria-label'),
        ),
      );
    expect(await labels()).toEqual([`Delete: ${w} done`, `Cancel: ${w} running`]);

    await actionButton(page, `${w} running`, 'cancel').click();
    await poll(async () => (await snapshotOf(running))?.cancelRequested).toBe(true);
    // No half state: once the server took it, the button is gone (a cancel is asked for once).
    await poll(labels).toEqual([`Delete: ${w} done`]);

    await actionButton(page, `${w} done`, 'delete').click();
    await poll(() => titles(page)).toEqual([`${w} running`]);
    expect(await snapshotOf(done)).toBeNull();
    expect(errors).toEqual([]);
  });

  it('restarts a failed operation, whose new run appears on the list; a session that is no operation offers no restart', async () => {
    const w = word();
    let runs = 0;
    suite.server.liveop.operation(w, {
      run: () => {
        runs++;
        if (runs === 1) throw new Error('the first run fails');
      },
    });
    const started = await fetch(`${suite.server.url}/operations/${w}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(started.status).toBe(201);
    const failed = (await started.json()) as CreatedSession;
    await poll(async () => (await snapshotOf(failed))?.status).toBe('error');
    const plain = await create(`${w} plain`);
    await suite.reporter.send(plain, [{ type: 'error', message: 'broke' }]);
    await poll(async () => (await snapshotOf(plain))?.status).toBe('error');

    const { page, errors } = await openList(suite, `<live-operation-list query="${w}"></live-operation-list>`);
    await poll(() => rows(page)).toMatchObject([{ title: `${w} plain` }, { title: w, status: 'Failed' }]);
    const item = (n: number) => page.locator('live-operation-list li[part~=item]').nth(n);
    expect((await item(0).locator('button[part~=action]').allTextContents()).map((text) => text.trim())).toEqual([
      'Delete',
    ]);
    await item(1).locator('button[part~=restart-action]').click();
    // The restarted run is a new session, on the list at once, and completes.
    await poll(() => rows(page)).toMatchObject([
      { title: w, status: 'Complete' },
      { title: `${w} plain` },
      { title: w, status: 'Failed' },
    ]);
    expect(runs).toBe(2);
    expect(errors).toEqual([]);
  });

  it('shows a parent as a roll-up of its children, failures first, and opens them in a nested list that is live too', async () => {
    const w = word();
    const parent = await suite.reporter.create({ title: `${w} batch`, expectedChildren: 4 });
    const child = (n: number) =>
      suite.reporter.create({ title: `${w} child ${n}`, parent: parent.id, tasks: [{ id: 'work', name: 'Work' }] });
    const [one, two] = [await child(1), await child(2)];
    await child(3);
    await suite.reporter.send(one!, [{ type: 'complete', task: 'work' }]);
    await suite.reporter.send(two!, [{ type: 'error', task: 'work', message: 'bad row' }]);
    const { page, errors } = await openList(suite, `<live-operation-list query="${w} batch"></live-operation-list>`);
    const counts = () =>
      page.evaluate(() =>
        [...document.querySelector('live-operation-list')!.shadowRoot!.querySelectorAll('[part~=child-count]')].map(
          (count) => count.textContent!.trim(),
        ),
      );
    await poll(counts).toEqual(['1 failed', '1 waiting', '1 of 4 complete']);
    const toggle = page.locator('live-operation-list button[part~=children-toggle]');
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await toggle.textContent()).toContain(`Children of ${w} batch`);

    await toggle.click();
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    await poll(async () => (await rows(page, true)).map((row) => `${row.title}: ${row.status}`)).toEqual([
      `${w} child 3: Waiting to start`,
      `${w} child 2: Failed`,
      `${w} child 1: Complete`,
    ]);
    // A child created now shows in the nested list and in the roll-up, with no reload.
    const four = await child(4);
    await run(four, 10);
    await poll(async () => (await rows(page, true)).map((row) => row.title)[0]).toBe(`${w} child 4`);
    await poll(counts).toEqual(['1 failed', '1 running', '1 waiting', '1 of 4 complete']);
    // The nested list has no filters of its own.
    expect(await page.locator('live-operation-list [part~=children] [part~=filters]').count()).toBe(0);
    await toggle.click();
    expect(await page.locator('live-operation-list [part~=children]').count()).toBe(0);
    expect(errors).toEqual([]);
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

  it('pages with "Load more" and the cursor, newest first throughout, and follows the rows it loaded live too', async () => {
    const w = word();
    const created: string[] = [];
    const sessions: CreatedSession[] = [];
    for (let i = 1; i <= 5; i++) {
      created.unshift(`${w} batch ${i}`);
      sessions.push(await create(`${w} batch ${i}`));
      await sleep(5);
    }
    const { page, requests, streams } = await openList(
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
    // The stream now covers every listed row: the oldest, from the last page, moves without a request.
    await poll(() => new URLSearchParams(streams.at(-1)).get('limit')).toBe('5');
    const asked = requests.length;
    await run(sessions[0]!, 35);
    await poll(async () => (await rows(page)).at(-1)?.percent).toBe('35%');
    expect(requests).toHaveLength(asked);
  });

  it('renders hostile titles as text, in the row and in the opened element', async () => {
    const w = word();
    const hostile = `${w} <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
    const session = await create(hostile);
    await run(session, 5);
    const { page, errors } = await openList(suite, `<live-operation-list query="${w}"></live-operation-list>`);
    await poll(() => titles(page)).toEqual([hostile]);
    await page.locator('live-operation-list button[part~=toggle]').click();
    await poll(() => openedTitle(page)).toBe(hostile);
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

describe.skipIf(!req.available)('<live-operation-list> on a server with nothing on it', () => {
  const suite = elementSuite();

  it('shows a session created after it opened within a second, with nothing running before', async () => {
    const { page, streams, errors } = await openList(suite, '<live-operation-list></live-operation-list>');
    await poll(() =>
      page.evaluate(
        () => document.querySelector('live-operation-list')!.shadowRoot!.querySelector('[part~=empty]')?.textContent,
      ),
    ).toBe('No operations');
    await poll(() => streams.length).toBe(1);

    const created = Date.now();
    await suite.reporter.create({ title: 'Created after the list opened' });
    await page.waitForFunction(
      () =>
        [...document.querySelector('live-operation-list')!.shadowRoot!.querySelectorAll('[part~=title]')].some(
          (title) => title.textContent === 'Created after the list opened',
        ),
      undefined,
      { timeout: Math.max(1, 1_000 - (Date.now() - created)) },
    );
    expect(Date.now() - created).toBeLessThan(1_000);
    // Its entry follows: the row opens the session's <live-operation>.
    await page.locator('live-operation-list button[part~=toggle][aria-disabled=false]').click();
    await poll(() => openedTitle(page)).toBe('Created after the list opened');
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
    // The subject token may cancel, never restart or delete: only that action is offered.
    expect(await page.locator('live-operation-list [part~=action]').count()).toBe(1);
    expect(await page.locator('live-operation-list [part~=cancel-action]').count()).toBe(1);
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
  it("shows in the row why the host's backend refused an action, the buttons enabled again", async () => {
    const w = word();
    const made = await fetch(`${suite.server.url}/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ title: `${w} guarded`, tasks: [{ id: 'work', name: 'Work', expectedMs: 3_600_000 }] }),
    });
    const session = (await made.json()) as CreatedSession;
    const { page, errors } = await openList(suite, '', ADMIN_LIST);
    // The backend: lists with the key, and refuses every action (its own policy), in the contract's error format.
    const actions: string[] = [];
    await page.route(`${suite.server.url}${ADMIN_LIST}**`, async (route) => {
      const url = new URL(route.request().url());
      if (route.request().method() !== 'GET') {
        actions.push(`${route.request().method()} ${url.pathname}`);
        return route.fulfill({ status: 403, json: { error: { code: 'forbidden', message: 'operators only' } } });
      }
      const answer = await route.fetch({
        url: `${suite.server.url}/sessions${url.search}`,
        headers: { authorization: `Bearer ${KEY}` },
      });
      await route.fulfill({ response: answer });
    });
    await page.evaluate(
      ([src, w]) => document.body.insertAdjacentHTML('beforeend', `<live-operation-list src="${src}" query="${w}">`),
      [ADMIN_LIST, w] as const,
    );
    await poll(() => titles(page)).toEqual([`${w} guarded`]);
    const cancel = page.locator('live-operation-list button[part~=cancel-action]');
    await cancel.click();
    const problem = page.locator('live-operation-list [part~=row-problem]');
    await poll(() => problem.textContent()).toBe('Cancel failed: operators only');
    expect(await problem.getAttribute('role')).toBe('alert');
    expect(await cancel.getAttribute('aria-disabled')).toBe('false');
    expect(actions).toEqual([`POST ${ADMIN_LIST}/${session.id}/cancel`]);
    const snapshot = await fetch(session.snapshotUrl, { headers: { authorization: `Bearer ${KEY}` } });
    expect(((await snapshot.json()) as { cancelRequested: boolean }).cancelRequested).toBe(false);
    expect(errors).toEqual([]);
  });
});
