/**
 * The demo page (what `npm start` serves at `/`) in Chromium: its buttons
 * start sessions, and a refused start says why on the page instead of doing
 * nothing.
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
