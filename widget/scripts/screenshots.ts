/**
 * Takes the element's screenshots for the docs from the real demo page:
 * `docs/screenshots/{running,complete,error,dark}.png` (and the demo page
 * with several sessions at 1280 and 390 px wide: `demo-1280.png`,
 * `demo-390.png`, whose width must not grow sideways). Run after `npm run build`:
 * `tsx widget/scripts/screenshots.ts`.
 */
import { mkdirSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import { startServer } from '../../test/support/server.ts';
import { launch } from '../../test/widget/browser.ts';

const out = 'docs/screenshots';
mkdirSync(out, { recursive: true });

const server = await startServer({ demo: true, demoSpeed: 1 });
const browser = await launch();

/** The demo page with its three starting sessions (import, failing sync, import), at `width`. */
async function demo(colorScheme: 'light' | 'dark', width = 1100): Promise<Page> {
  const page = await browser.newPage({ colorScheme, viewport: { width, height: 900 }, deviceScaleFactor: 2 });
  await page.goto(server.url);
  await page.locator('live-operation').nth(2).locator('[part~=title]').waitFor();
  return page;
}

const card = (page: Page, n: number): Locator => page.locator('live-operation').nth(n);

async function statusOf(element: Locator, text: string, timeout = 30_000): Promise<void> {
  await element
    .locator('[part~=status]', { hasText: text })
    .waitFor({ timeout })
    .catch(async (error: Error) => {
      const shown = await element.locator('[part~=base]').textContent();
      throw new Error(`never "${text}"; the card reads: ${shown?.replace(/\s+/g, ' ')}`, { cause: error });
    });
}

try {
  const light = await demo('light');
  const dark = await demo('dark', 620);

  // Running: the import mid-way, in its Process stage, with the slow fetch still waiting.
  await card(light, 0).locator('[part~=stage-active]', { hasText: 'Process' }).waitFor({ timeout: 15_000 });
  await light.waitForTimeout(1_500);
  await card(light, 0).screenshot({ path: `${out}/running.png` });
  await dark.waitForTimeout(300);
  await card(dark, 0).screenshot({ path: `${out}/dark.png` });
  // The whole page at a desktop width and a phone's, checking that nothing overflows sideways.
  // (The same page resized: each page load starts sessions, and the demo rate-limits those.)
  for (const width of [1280, 390]) {
    await light.setViewportSize({ width, height: 900 });
    await light.waitForTimeout(300);
    const wide = await light.evaluate(() => document.documentElement.scrollWidth);
    if (wide > width) throw new Error(`the demo is ${wide} px wide at ${width} px: it scrolls sideways`);
    await light.screenshot({ path: `${out}/demo-${width}.png` });
  }
  await light.setViewportSize({ width: 1100, height: 900 });

  await statusOf(card(light, 1), 'Failed');
  await card(light, 1).screenshot({ path: `${out}/error.png` });
  await statusOf(card(light, 0), 'Complete');
  await card(light, 0).screenshot({ path: `${out}/complete.png` });
  console.log(`screenshots written to ${out}/`);
} finally {
  await browser.close();
  await server.close();
}
