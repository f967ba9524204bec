/**
 * The demo page (what `npm start` serves at `/`) in Chromium: its buttons
 * start sessions, a refused start says why on the page instead of doing
 * nothing, and the streamed answer shows its text, its items through the
 * page's template, and the language the page picks.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.ts';
import { assertBuilt, launch } from './browser.ts';

let browser: Browser;
let server: TestServer;
beforeAll(async () => {
  assertBuilt();
  [browser, server] = await Promise.all([launch(), startServer({ demo: true, demoSpeed: 20 })]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the demo page', () => {
  it('shows why a start was refused (the demo’s 10 a minute per visitor) instead of doing nothing', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.url}/`);
    const cards = () => page.locator('live-operation').count();
    // The page starts three sessions as it loads; seven more clicks use up the visitor's ten.
    await expect.poll(cards).toBe(3);
    for (let n = 4; n <= 10; n++) {
      await page.click('#start');
      await expect.poll(cards).toBe(n);
    }
    expect(await page.textContent('#notice')).toBe('');
    await page.click('#start');
    await expect
      .poll(() => page.textContent('#notice'))
      .toMatch(/^Not started: the demo starts 10 sessions a minute per visitor; try again in \d+ s\.$/);
    expect(await cards()).toBe(10);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('the demo page’s streamed answer', () => {
  // A server of its own: the other test uses up its visitor's ten starts a minute.
  let own: TestServer;
  beforeAll(async () => {
    own = await startServer({ demo: true, demoSpeed: 20 });
  });
  afterAll(async () => {
    await own?.close();
  });

  it('grows the answer in place, renders the sources through the page’s template, and speaks German when asked', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${own.url}/`);
    await expect.poll(() => page.locator('live-operation').count()).toBe(3);
    await page.click('#clear');
    await page.click('[data-operation="demo-answer"]');
    const card = page.locator('live-operation').first();
    const answer = () =>
      card.evaluate((el) => el.shadowRoot?.querySelector('[part~="output-answer"]')?.textContent ?? '');
    await expect.poll(answer, { timeout: 15_000 }).toMatch(/^Liveop keeps/);
    const early = (await answer()).length;
    await expect.poll(answer, { timeout: 15_000 }).toMatch(/the whole text so far\.$/);
    expect((await answer()).length).toBeGreaterThan(early);
    // The sources: light DOM links made from the page's <template slot="item">, href only for http(s).
    await expect.poll(() => card.locator('a').count()).toBe(2);
    expect(await card.locator('a').first().textContent()).toBe('The wire protocol');
    expect(await card.locator('a').first().getAttribute('href')).toBe('https://example.com/liveop/protocol');
    await page.selectOption('#lang', 'de');
    await expect
      .poll(() => card.evaluate((el) => el.shadowRoot?.querySelector('[part~="status"]')?.textContent?.trim()))
      .toBe('Abgeschlossen');
    expect(errors).toEqual([]);
    await page.close();
  });
});
