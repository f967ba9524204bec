/**
 * liveop/client in a browser: the module, bundled as a page would bundle
 * it, creates, reports to and watches a session from a Chromium page (and
 * from a module worker) on the real server's origin — so it needs nothing
 * that only Node has.
 */
import { build } from 'esbuild';
import { type Browser, chromium as playwright } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, chromium } from '../support/requirements.ts';
import { startServer, type TestServer } from '../support/server.ts';

const browserThere = chromium();

/** What the page (or worker) does: create, report, watch to the end; its result is what the watcher saw. */
const SCENARIO = `
  const client = createClient({ baseUrl: location.origin });
  const session = await client.createSession({ title: 'In a browser', tasks: { a: 'A' } });
  session.log('one', 'two');
  session.steps('a', 1, 2);
  await session.flush();
  const lines = [];
  let last;
  for await (const snapshot of session.watch()) {
    lines.push(...snapshot.logs.map((l) => l.line));
    last = snapshot;
    if (lines.length === 2) {
      session.log('three');
      session.result({ ok: true });
      session.complete('a');
    }
  }
  await session.close();
  return { lines, status: last.status, result: last.result };
`;

describe.skipIf(!browserThere.available)('liveop/client in a browser', () => {
  let server: TestServer;
  let browser: Browser;
  let bundle: string;
  beforeAll(async () => {
    const built = await build({
      entryPoints: ['client/index.ts'],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
    });
    bundle = built.outputFiles[0]!.text;
    [server, browser] = await Promise.all([
      startServer(),
      playwright.launch({ executablePath: CHROMIUM_PATH, args: ['--headless', '--no-sandbox', '--disable-gpu'] }),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function page() {
    const page = await browser.newPage();
    await page.route(`${server.url}/__client__.js`, (route) =>
      route.fulfill({ contentType: 'text/javascript', body: bundle }),
    );
    await page.route(`${server.url}/__worker__.js`, (route) =>
      route.fulfill({
        contentType: 'text/javascript',
        body: `import { createClient } from '/__client__.js';
          self.onmessage = async () => {
            try { self.postMessage(await (async () => { ${SCENARIO} })()); }
            catch (error) { self.postMessage({ error: String(error) }); }
          };`,
      }),
    );
    await page.route(`${server.url}/__page__`, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>client</title>' }),
    );
    await page.goto(`${server.url}/__page__`);
    return page;
  }

  it('creates, reports and watches a session from a page', async () => {
    const p = await page();
    const seen = await p.evaluate(`(async () => {
      const { createClient } = await import('/__client__.js');
      ${SCENARIO}
    })()`);
    expect(seen).toEqual({ lines: ['one', 'two', 'three'], status: 'complete', result: { ok: true } });
    await p.close();
  });

  it('creates, reports and watches a session from a module worker', async () => {
    const p = await page();
    const seen = await p.evaluate(
      () =>
        new Promise((resolve) => {
          const worker = new Worker('/__worker__.js', { type: 'module' });
          worker.onmessage = (event) => resolve(event.data);
          worker.postMessage('go');
        }),
    );
    expect(seen).toEqual({ lines: ['one', 'two', 'three'], status: 'complete', result: { ok: true } });
    await p.close();
  });
});
