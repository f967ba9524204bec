/**
 * What `<live-operation>` shows besides progress, in real Chromium against
 * the real server: output streams, items and results through the page's
 * templates, and the viewer's language.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import de from '../../protocol/locales/de.ts';
import { chromium } from '../support/requirements.ts';
import { attrs, elementSuite, openPage, waitForShadowText } from './browser.ts';

const req = chromium();

describe.skipIf(!req.available)('<live-operation> beyond progress, in Chromium', () => {
  const suite = elementSuite();

  it('grows a streamed answer in place, in the page’s element, and shows a stream it did not place', async () => {
    const session = await suite.reporter.create({ title: 'Answer' });
    const { page, errors } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}><div slot="outputs"><p id="answer" stream="answer"></p></div></live-operation>`,
    );
    const answer = (text: string) =>
      page.waitForFunction((t) => document.querySelector('#answer')?.textContent === t, text);
    await suite.reporter.send(session, [{ type: 'output', stream: 'answer', text: 'Hello' }]);
    await answer('Hello');
    await page.evaluate(() => {
      (window as unknown as { node: Node | null }).node = document.querySelector('#answer')!.firstChild;
    });
    for (const text of [', ', 'wor', 'ld.'])
      await suite.reporter.send(session, [{ type: 'output', stream: 'answer', text }]);
    await suite.reporter.send(session, [{ type: 'output', stream: 'notes', text: 'a note' }]);
    await answer('Hello, world.');
    await waitForShadowText(page, '[part~=output-notes]', 'a note');
    // The same text node, grown: nothing the reader was looking at was replaced.
    expect(
      await page.evaluate(
        () => document.querySelector('#answer')!.firstChild === (window as unknown as { node: Node }).node,
      ),
    ).toBe(true);
    expect(errors).toEqual([]);
  });

  it('renders items and the result through the page’s templates, a hostile value as text', async () => {
    const session = await suite.reporter.create({ title: 'Import' });
    const { page, errors } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}>
        <template slot="item"><p class="item"><a data-field="name" data-href="url"></a> × <b data-field="qty"></b></p></template>
        <template slot="result"><p class="result">Imported <b data-field="rows"></b></p></template>
      </live-operation>`,
    );
    const hostile = '<img src=x onerror="window.pwned=1">';
    await suite.reporter.send(session, [
      { type: 'log', line: 'one', data: { name: hostile, url: 'javascript:window.pwned=1', qty: 3 } },
      { type: 'log', line: 'two', data: { name: 'Chair', url: 'https://example.com/chair', qty: 1 } },
      { type: 'result', data: { rows: 2 } },
      { type: 'complete', task: 'main' },
    ]);
    await page.waitForFunction(
      () => document.querySelectorAll('.item').length === 2 && document.querySelector('.result'),
    );
    const items = await page.evaluate(() =>
      [...document.querySelectorAll('.item')].map((item) => ({
        text: item.textContent,
        href: item.querySelector('a')!.getAttribute('href'),
        images: item.querySelectorAll('img').length,
      })),
    );
    expect(items).toEqual([
      { text: `${hostile} × 3`, href: null, images: 0 },
      { text: 'Chair × 1', href: 'https://example.com/chair', images: 0 },
    ]);
    expect(await page.evaluate(() => document.querySelector('.result')!.textContent)).toBe('Imported 2');
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('speaks German for lang="de", from a chunk the main bundle does not carry, and the page’s keyed messages', async () => {
    const session = await suite.reporter.create({ title: 'Import' });
    const requested: string[] = [];
    const { page, errors } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}></live-operation>`,
      { lang: 'de-DE', before: (p) => p.on('request', (request) => requested.push(new URL(request.url()).pathname)) },
    );
    // (A string, so the test runner leaves its import() alone.)
    await page.evaluate(
      `import('${suite.server.url}/widget.js').then((m) => m.registerMessages('de', { 'import.row': 'Zeile {row} von {total}' }))`,
    );
    await suite.reporter.send(session, [
      { type: 'start', task: 'main' },
      { type: 'message', text: 'Row 3 of 9', key: 'import.row', params: { row: 3, total: 9 } },
    ]);
    await waitForShadowText(page, '[part~=status]', de.running);
    await waitForShadowText(page, '[part~=message]', 'Zeile 3 von 9');
    expect(requested.some((path) => /\/widget-chunks\/de-[\w-]+\.js$/.test(path))).toBe(true);
    // The bundle every page loads holds no German: the words came with the chunk.
    const bundle = await (await fetch(`${suite.server.url}/widget.js`)).text();
    expect(bundle).toBe(readFileSync('dist/live-operation.js', 'utf8'));
    for (const word of [de.running, de.complete, de.cancel, de.untitled]) expect(bundle).not.toContain(word);
    expect(errors).toEqual([]);
  });

  it('says a parent’s children in words under its bar, failures first, as they change', async () => {
    const parent = await suite.reporter.create({ title: 'Batch', expectedChildren: 3 });
    const { page, errors } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(parent)}></live-operation>`,
    );
    const child = () => suite.reporter.create({ title: 'File', parent: parent.id });
    const [first, second] = [await child(), await child()];
    await waitForShadowText(page, '[part~=children]', '2 waiting · 0 of 3 complete');
    await suite.reporter.send(first, [{ type: 'error', message: 'bad file' }]);
    await suite.reporter.send(second, [{ type: 'complete', task: 'main' }]);
    await child();
    await waitForShadowText(page, '[part~=children]', '1 failed · 1 waiting · 1 of 3 complete');
    expect(errors).toEqual([]);
  });
});
