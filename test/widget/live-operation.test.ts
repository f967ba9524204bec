/**
 * `<live-operation>` in real Chromium against the real server: what a user
 * sees and what a host page can observe (shadow DOM, ARIA, events).
 */
import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../protocol/index.ts';
import { chromium } from '../support/requirements.ts';
import {
  attrs,
  elementSuite,
  openPage,
  recordEvents,
  recordedEvents,
  shadowText,
  snapshot,
  waitForShadowText,
} from './browser.ts';

const req = chromium();

/** One frame of what the element draws, as the closing-ramp test samples it. */
interface Frame {
  status: string;
  fill: number;
  task: string;
  fired: boolean;
}

describe.skipIf(!req.available)('<live-operation> in Chromium', () => {
  const suite = elementSuite();

  it('shows tasks progressing, then completing, then the result and its artifacts', async () => {
    const session = await suite.reporter.create({
      title: 'Import catalogue',
      tasks: { load: 'Load rows', save: 'Save rows' },
      stages: ['Load', 'Save'],
    });
    const { page, errors } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}></live-operation>`,
    );
    await recordEvents(page);
    await waitForShadowText(page, '[part~=title]', 'Import catalogue');

    await suite.reporter.send(session, [
      { type: 'stage', name: 'Load' },
      { type: 'start', task: 'load' },
      { type: 'steps', task: 'load', done: 450, total: 1000 },
      { type: 'message', task: 'load', text: 'Reading the file' },
      { type: 'message', text: 'Halfway there', level: 'warning' },
    ]);
    await waitForShadowText(page, '[part~=task-detail]', '450 / 1,000');
    await waitForShadowText(page, '[part~=task-detail]', 'Reading the file');
    expect(await shadowText(page, '[part~=status]')).toBe('Running');
    expect(await shadowText(page, '[part~=stage-active]')).toBe('Load');
    expect(await shadowText(page, '[part~=message]')).toBe('Warning: Halfway there');
    await waitForShadowText(page, '[part~=meta]', /\d+ sec elapsed/);

    await suite.reporter.send(session, [
      { type: 'complete', task: 'load' },
      { type: 'stage', name: 'Save' },
      { type: 'start', task: 'save' },
      { type: 'retry', task: 'save', attempt: 2, message: 'timeout' },
    ]);
    await waitForShadowText(page, '[part~=stage-active]', 'Save');
    await waitForShadowText(page, '[part~=task]:nth-child(2) [part~=task-detail]', 'retry 2');

    await suite.reporter.send(session, [
      {
        type: 'result',
        data: { rows: 1000, skipped: 3 },
        artifacts: [
          { name: 'report.csv', url: '/files/report.csv' },
          { name: 'notes', text: 'All good' },
        ],
      },
      { type: 'complete', task: 'save' },
    ]);
    await waitForShadowText(page, '[part~=status]', 'Complete');
    expect(await shadowText(page, '[part~=overall-percent]')).toBe('100%');
    // The result's default rendering is a chunk of its own, loaded once a result shows.
    await expect.poll(() => shadowText(page, '[part~=result-list]')).toMatch(/rows\s*1000\s*skipped\s*3/);
    const link = await page.evaluate(() => {
      const a = document.querySelector('live-operation')!.shadowRoot!.querySelector('a[part~=artifact]')!;
      return { href: a.getAttribute('href'), text: a.textContent };
    });
    expect(link).toEqual({ href: `${suite.server.url}/files/report.csv`, text: 'report.csv' });
    expect(await shadowText(page, 'pre')).toBe('All good');
    // Finished: no cancel button, and no clock counting on.
    expect(await shadowText(page, '[part~=cancel-button]')).toBeNull();

    const events = await recordedEvents(page);
    const complete = events.filter((e) => e.type === 'live-operation-complete');
    expect(complete).toHaveLength(1);
    expect(complete[0]!.detail).toMatchObject({
      id: session.id,
      status: 'complete',
      result: { rows: 1000, skipped: 3 },
    });
    expect(events.filter((e) => e.type === 'live-operation-update').length).toBeGreaterThan(2);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('eases a completed bar to 100 before it says Complete, though the server said so at once', async () => {
    const session = await suite.reporter.create({ title: 'Import', tasks: { load: 'Load rows' } });
    const { page, errors } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}></live-operation>`,
    );
    await suite.reporter.send(session, [{ type: 'steps', task: 'load', done: 40, total: 100 }]);
    await waitForShadowText(page, '[part~=overall-percent]', /^4\d%$/);
    await page.waitForFunction(() => {
      const bar = document.querySelector('live-operation')!.shadowRoot!.querySelector('[part~=overall-bar]')!;
      return (
        bar.querySelector('[part~=fill]')!.getBoundingClientRect().width / bar.getBoundingClientRect().width > 0.39
      );
    });
    // What the element draws every frame — the overall fill's share of its bar, the statuses — and
    // whether it has told the page that the session completed.
    await page.evaluate(() => {
      const element = document.querySelector('live-operation')!;
      const seen: Frame[] = [];
      let fired = false;
      element.addEventListener('live-operation-complete', () => (fired = true));
      const sample = () => {
        const root = element.shadowRoot!;
        const bar = root.querySelector('[part~=overall-bar]')!;
        seen.push({
          status: root.querySelector('[part~=status]')!.textContent!.trim(),
          fill: bar.querySelector('[part~=fill]')!.getBoundingClientRect().width / bar.getBoundingClientRect().width,
          task: root.querySelector('[part~=task]')!.className,
          fired,
        });
        if (seen.at(-1)!.status !== 'Complete') requestAnimationFrame(sample);
      };
      (window as unknown as { seen: Frame[] }).seen = seen;
      sample();
    });
    await suite.reporter.send(session, [{ type: 'complete', task: 'load' }]);
    await waitForShadowText(page, '[part~=status]', 'Complete');
    const seen = await page.evaluate(() => (window as unknown as { seen: Frame[] }).seen);
    // Told at once; drawn easing toward the end, still running, for some frames.
    const easing = seen.filter((frame) => frame.fired && frame.fill > 0.41 && frame.fill < 0.99);
    expect(easing.length).toBeGreaterThan(1);
    expect(easing.every((frame) => frame.status === 'Running' && /\brunning\b/.test(frame.task))).toBe(true);
    expect(seen.map((frame) => frame.fill)).toEqual(seen.map((frame) => frame.fill).sort((a, b) => a - b));
    expect(seen.filter((frame) => frame.status === 'Complete')).toEqual([
      { status: 'Complete', fill: expect.closeTo(1, 1), task: expect.stringMatching(/\bcomplete\b/), fired: true },
    ]);
    expect(await shadowText(page, '[part~=overall-percent]')).toBe('100%');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows the error, fires live-operation-error, and offers no cancel', async () => {
    const session = await suite.reporter.create({ title: 'Resize images', tasks: { resize: 'Resize' } });
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}></live-operation>`,
    );
    await recordEvents(page);
    await suite.reporter.send(session, [
      { type: 'start', task: 'resize' },
      { type: 'percent', task: 'resize', value: 30 },
    ]);
    await waitForShadowText(page, '[part~=status]', 'Running');
    await suite.reporter.send(session, [{ type: 'error', task: 'resize', message: 'Disk full on /var/images' }]);
    await waitForShadowText(page, '[part~=status]', 'Failed');
    expect(await shadowText(page, '[part~=problem]')).toBe('Disk full on /var/images');
    expect(await shadowText(page, '[part~=task-icon]')).toBe('✕');
    expect(await shadowText(page, '[part~=cancel-button]')).toBeNull();
    // The overall bar keeps what was reached rather than dropping to 0.
    const overall = await page.evaluate(
      () =>
        document
          .querySelector('live-operation')!
          .shadowRoot!.querySelector('[part~=overall-bar]')!
          .getAttribute('aria-valuenow')!,
    );
    expect(Number(overall)).toBeGreaterThanOrEqual(30);
    const events = await recordedEvents(page);
    expect(events.filter((e) => e.type === 'live-operation-error')).toHaveLength(1);
    expect(events.find((e) => e.type === 'live-operation-error')!.detail).toMatchObject({
      status: 'error',
      error: { message: 'Disk full on /var/images' },
    });
    await page.close();
  });

  it("says a failed task's error once, in the error panel, and not again under the task", async () => {
    const session = await suite.reporter.create({
      title: 'Resize images',
      tasks: { resize: 'Resize', upload: 'Upload' },
    });
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}></live-operation>`,
    );
    await suite.reporter.send(session, [
      { type: 'start', task: 'resize' },
      { type: 'message', task: 'resize', text: 'Resizing 40 of 100' },
    ]);
    await waitForShadowText(page, '[part~=task-detail]', 'Resizing 40 of 100');
    await suite.reporter.send(session, [{ type: 'error', task: 'resize', message: 'Disk full on /var/images' }]);
    await waitForShadowText(page, '[part~=status]', 'Failed');
    const seen = await page.evaluate(() => {
      const root = document.querySelector('live-operation')!.shadowRoot!;
      const base = root.querySelector('[part~=base]')!.cloneNode(true) as HTMLElement;
      // What the page shows; the live region (visually hidden) announces it on its own.
      base.querySelector('[role=status]')!.remove();
      return {
        times: base.textContent!.split('Disk full on /var/images').length - 1,
        problem: root.querySelector('[part~=problem]')?.textContent,
        details: [...root.querySelectorAll('[part~=task-detail]')].map((detail) => detail.textContent),
        message: root.querySelector('[part~=message]'),
      };
    });
    expect(seen).toEqual({ times: 1, problem: 'Disk full on /var/images', details: [], message: null });
    await page.close();
  });

  it('shows a count with what it counts, as the steps event names it', async () => {
    const session = await suite.reporter.create({ title: 'Import', tasks: { rows: 'Rows', files: 'Files' } });
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}></live-operation>`,
    );
    await suite.reporter.send(session, [
      { type: 'start', task: 'rows' },
      { type: 'steps', task: 'rows', done: 5, total: 10, unit: 'rows' },
      { type: 'start', task: 'files' },
      { type: 'steps', task: 'files', done: 2, total: 3 },
      { type: 'message', task: 'files', text: 'Reading b.csv' },
    ]);
    await waitForShadowText(page, '[part~=task]:nth-child(1) [part~=task-detail]', '5 / 10 rows');
    // No unit: the count alone, with no stray space before the next detail.
    await waitForShadowText(page, '[part~=task]:nth-child(2) [part~=task-detail]', '2 / 3 · Reading b.csv');
    expect(await shadowText(page, '[part~=task]:nth-child(1) [part~=task-detail]')).toBe('5 / 10 rows');
    expect(await shadowText(page, '[part~=task]:nth-child(2) [part~=task-detail]')).toBe('2 / 3 · Reading b.csv');
    await page.close();
  });

  it('cancels from the button: confirm, POST …/cancel, "Cancelling…", then cancelled', async () => {
    const session = await suite.reporter.create({ title: 'Export', tasks: { export: 'Export orders' } });
    await suite.reporter.send(session, [{ type: 'start', task: 'export' }]);
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}></live-operation>`,
    );
    await recordEvents(page);
    const cancels: { method: string; url: string }[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/cancel')) cancels.push({ method: r.method(), url: r.url() });
    });
    // The viewer token carries the cancel right, so the button is there.
    await waitForShadowText(page, '[part~=cancel-button]', 'Cancel');
    const button = page.locator('live-operation').locator('[part~=cancel-button]');
    await button.click();
    expect(await shadowText(page, '[part~=cancel-button]')).toBe('Yes, cancel it');
    expect(await shadowText(page, '[part~=keep-button]')).toBe('Keep running');
    expect(cancels).toEqual([]);

    const cancelAnswer = page.waitForResponse((r) => r.url().includes('/cancel'));
    await button.click();
    expect((await cancelAnswer).status()).toBe(202);
    expect(cancels).toEqual([{ method: 'POST', url: expect.stringContaining(`/sessions/${session.id}/cancel`) }]);
    await waitForShadowText(page, '[part~=cancelling]', 'Cancelling…');
    await waitForShadowText(page, '[part~=status]', 'Cancelling…');

    // The reporter learns of it on its next events call and acknowledges.
    const answer = await suite.reporter.send(session, [{ type: 'heartbeat' }]);
    expect(answer.cancelRequested).toBe(true);
    await suite.reporter.send(session, [{ type: 'cancelled' }]);
    await waitForShadowText(page, '[part~=status]', 'Cancelled');
    expect(await shadowText(page, '[part~=actions]')).toBeNull();
    const events = await recordedEvents(page);
    expect(events.filter((e) => e.type === 'live-operation-cancel')).toEqual([
      { type: 'live-operation-cancel', detail: session.id },
    ]);
    expect(events.filter((e) => e.type === 'live-operation-cancelled')).toHaveLength(1);
    await page.close();
  });

  it('sends no cancel request when the host calls preventDefault() on live-operation-cancel', async () => {
    const session = await suite.reporter.create({ title: 'Guarded', tasks: { t: 'Task' } });
    await suite.reporter.send(session, [{ type: 'start', task: 't' }]);
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}></live-operation>`,
    );
    await page.evaluate(() => document.addEventListener('live-operation-cancel', (e) => e.preventDefault()));
    let posted = 0;
    page.on('request', (r) => {
      if (r.url().includes('/cancel')) posted++;
    });
    await waitForShadowText(page, '[part~=cancel-button]', 'Cancel');
    // Keyboard only: focus the button, Enter to ask, Enter to confirm.
    await page.locator('live-operation').locator('[part~=cancel-button]').focus();
    await page.keyboard.press('Enter');
    await waitForShadowText(page, '[part~=cancel-button]', 'Yes, cancel it');
    expect(
      await page.evaluate(() =>
        document.querySelector('live-operation')!.shadowRoot!.activeElement?.getAttribute('part'),
      ),
    ).toBe('cancel-button');
    await page.keyboard.press('Enter');
    await waitForShadowText(page, '[part~=cancel-button]', 'Cancel');
    await page.waitForTimeout(100); // only time passing shows that no request follows
    expect(posted).toBe(0);
    expect(await shadowText(page, '[part~=cancel-button]')).toBe('Cancel');
    const state = await fetch(`${suite.server.url}/sessions/${session.id}`, {
      headers: { authorization: `Bearer ${session.viewerToken}` },
    }).then((r) => r.json());
    expect(state.cancelRequested).toBe(false);
    await page.close();
  });

  it('follows a chained session without a page reload', async () => {
    const first = await suite.reporter.create({ title: 'Step 1: download', tasks: { download: 'Download' } });
    const second = await suite.reporter.create({ title: 'Step 2: install', tasks: { install: 'Install' } });
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(first)}></live-operation>`,
    );
    await recordEvents(page);
    await page.evaluate(() => {
      (window as unknown as { __loaded: boolean }).__loaded = true;
    });
    await suite.reporter.send(first, [{ type: 'start', task: 'download' }]);
    await waitForShadowText(page, '[part~=title]', 'Step 1: download');
    // Chaining finishes the first session (what still runs completes).
    await suite.reporter.send(first, [{ type: 'chain', next: second.id, token: second.reporterToken }]);
    await waitForShadowText(page, '[part~=title]', 'Step 2: install');
    await suite.reporter.send(second, [
      { type: 'start', task: 'install' },
      { type: 'log', line: 'installing' },
      { type: 'complete', task: 'install' },
    ]);
    await waitForShadowText(page, '[part~=status]', 'Complete');
    expect(await shadowText(page, '[part~=task-name]')).toBe('Install');
    expect(await shadowText(page, '[part~=log-toggle]')).toBe('▸ Log (1)');
    const events = await recordedEvents(page);
    const chain = events.filter((e) => e.type === 'live-operation-chain');
    expect(chain).toHaveLength(1);
    expect(chain[0]!.detail).toMatchObject({ id: first.id, status: 'complete', next: { id: second.id } });
    // The first session's end is a chain, not a completion; the second's is.
    expect(
      events.filter((e) => e.type === 'live-operation-complete').map((e) => (e.detail as { id: string }).id),
    ).toEqual([second.id]);
    expect(await page.evaluate(() => (window as unknown as { __loaded: boolean }).__loaded)).toBe(true);
    await page.close();
  });

  it('renders hostile names, titles, messages, logs and results as text and runs none of them', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    const session = await suite.reporter.create({
      title: `<script>window.__pwned=2</script>${evil}`,
      tasks: { t: evil },
    });
    const { page, errors } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)} log-open></live-operation>`,
    );
    await suite.reporter.send(session, [
      { type: 'start', task: 't' },
      { type: 'message', text: evil, level: 'error' },
      { type: 'log', line: `<b onmouseover="window.__pwned=3">${evil}</b>` },
      {
        type: 'result',
        data: { [evil]: evil },
        artifacts: [{ name: evil, url: 'javascript:window.__pwned=4' }],
      },
      { type: 'complete', task: 't' },
    ]);
    await waitForShadowText(page, '[part~=status]', 'Complete');
    await page.locator('live-operation').locator('[part~=artifact]').click();
    await page.waitForTimeout(100); // only time passing shows that the link ran nothing
    const seen = await page.evaluate(() => {
      const root = document.querySelector('live-operation')!.shadowRoot!;
      return {
        pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
        elements: root.querySelectorAll('img, script, b, [onerror], [onmouseover]').length,
        links: root.querySelectorAll('a').length,
        title: root.querySelector('[part~=title]')!.textContent,
        task: root.querySelector('[part~=task-name]')!.textContent,
        log: root.querySelector('[part~=log-line]')!.textContent,
        result: root.querySelector('[part~=result-list]')!.textContent,
      };
    });
    expect(seen).toEqual({
      pwned: null,
      elements: 0,
      links: 0,
      title: `<script>window.__pwned=2</script>${evil}`,
      task: evil,
      log: `<b onmouseover="window.__pwned=3">${evil}</b>`,
      result: expect.stringContaining(evil),
    });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a status it does not know (from a newer server) as text, and keeps working', async () => {
    const session = await suite.reporter.create({ title: 'From the future', tasks: { t: 'Thaw' } });
    const real = (await (await fetch(session.snapshotUrl)).json()) as Snapshot;
    const newer = { ...real, status: 'paused', tasks: real.tasks.map((t) => ({ ...t, status: 'paused' })) };
    const { page, errors } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}></live-operation>`,
      {
        // A newer server's stream: a status and a line type this element has never heard of.
        before: (p) =>
          void p.route(
            (url) => url.pathname.endsWith('/stream'),
            (route) =>
              route.fulfill({
                contentType: 'application/x-ndjson',
                body: `${JSON.stringify({ type: 'progress-hint', id: session.id })}\n${JSON.stringify(newer)}\n`,
              }),
          ),
      },
    );
    await waitForShadowText(page, '[part~=status]', 'paused');
    expect(await shadowText(page, '[part~=title]')).toBe('From the future');
    expect(errors).toEqual([]);
  });

  it('says so when the server cannot serve the session, instead of waiting forever', async () => {
    const session = await suite.reporter.create({ title: 'Broken by an older version', tasks: { t: 'T' } });
    let deep: unknown = 0;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    await suite.server.store.update(session.id, (s) => ({ ...s, version: s.version + 1, result: deep }));
    const { page, errors } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}></live-operation>`,
    );
    await waitForShadowText(page, '[part~=problem]', /Could not load \(this session holds data the server cannot send/);
    expect(errors).toEqual([]);
  });

  it('stays intact on a host page whose CSS resets everything', async () => {
    const session = await suite.reporter.create({ title: 'Hostile host', tasks: { t: 'Task' } });
    await suite.reporter.send(session, [
      { type: 'start', task: 't' },
      { type: 'percent', task: 't', value: 50 },
    ]);
    const head = `<style>
      * { all: unset !important; }
      body { font-size: 40px; letter-spacing: 12px; text-transform: uppercase; line-height: 0; color: red; }
      div, span, button, ul, li { display: none !important; color: red !important; }
      [part], .bar, .fill { display: none !important; height: 0 !important; }
    </style>`;
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<main><live-operation ${attrs(session)} cancelable></live-operation></main>`,
      { head },
    );
    await waitForShadowText(page, '[part~=status]', 'Running');
    const look = await page.evaluate(() => {
      const root = document.querySelector('live-operation')!.shadowRoot!;
      const box = (selector: string) => root.querySelector(selector)!.getBoundingClientRect();
      const style = getComputedStyle(root.querySelector('[part~=title]')!);
      return {
        base: box('[part~=base]').width,
        bar: box('[part~=overall-bar]').height,
        taskBar: box('[part~=task-bar]').height,
        fill: box('[part~=task-bar] [part~=fill]').width / box('[part~=task-bar]').width,
        fontSize: style.fontSize,
        letterSpacing: style.letterSpacing,
        textTransform: style.textTransform,
        color: style.color,
        button: root.querySelector('[part~=cancel-button]')!.getBoundingClientRect().height,
      };
    });
    expect(look.base).toBeGreaterThan(300);
    expect(look.bar).toBe(8);
    expect(look.taskBar).toBe(8);
    expect(look.fill).toBeGreaterThanOrEqual(0.49);
    expect(look.fill).toBeLessThan(1);
    expect(look).toMatchObject({
      fontSize: '15.4px',
      letterSpacing: 'normal',
      textTransform: 'none',
      color: 'rgb(31, 35, 40)',
    });
    expect(look.button).toBeGreaterThan(15);
    await page.close();
  });

  it('gives every bar role=progressbar with correct aria values, never going back within a stage and an attempt, and a polite live region for milestones', async () => {
    const { page } = await openPage(suite.browser, suite.server.url, '<live-operation></live-operation>');
    const feed = (overrides: Parameters<typeof snapshot>[0]) =>
      page.evaluate((s) => {
        document.querySelector('live-operation')!.snapshot = s;
      }, snapshot(overrides));
    const task = (id: string, percent: number, extra: Record<string, unknown> = {}) => ({
      id,
      name: `Task ${id}`,
      status: 'running' as const,
      percent,
      simulated: false,
      stalled: false,
      etaMs: null,
      ...extra,
    });
    await feed({ version: 1, percent: 10, tasks: [task('a', 10), task('b', 10, { simulated: true })] });
    const aria = () =>
      page.evaluate(() =>
        [...document.querySelector('live-operation')!.shadowRoot!.querySelectorAll('[role=progressbar]')].map(
          (bar) => ({
            label: bar.getAttribute('aria-label'),
            now: bar.getAttribute('aria-valuenow'),
            min: bar.getAttribute('aria-valuemin'),
            max: bar.getAttribute('aria-valuemax'),
            text: bar.getAttribute('aria-valuetext'),
          }),
        ),
      );
    expect(await aria()).toEqual([
      { label: 'Fed by the host', now: '10', min: '0', max: '100', text: '10%, Running' },
      { label: 'Task a', now: '10', min: '0', max: '100', text: '10%, Running' },
      { label: 'Task b', now: '10', min: '0', max: '100', text: 'about 10%, Running' },
    ]);
    const live = () =>
      page.evaluate(() => {
        const region = document.querySelector('live-operation')!.shadowRoot!.querySelector('[role=status]')!;
        return { live: region.getAttribute('aria-live'), text: region.textContent!.trim() };
      });
    expect(await live()).toEqual({ live: 'polite', text: '' });

    // Ticks are not announced; the quarter is.
    for (const [version, percent] of [
      [2, 12],
      [3, 19],
      [4, 24],
    ] as const) {
      await feed({ version, percent, tasks: [task('a', percent), task('b', percent)] });
      expect((await live()).text).toBe('');
    }
    await feed({ version: 5, percent: 26, tasks: [task('a', 26), task('b', 26)] });
    expect(await live()).toEqual({ live: 'polite', text: 'Fed by the host: 25%' });

    // Never backwards: an older, lower value does not pull a bar back.
    await feed({ version: 6, percent: 20, tasks: [task('a', 20), task('b', 30)] });
    expect((await aria()).map((bar) => bar.now)).toEqual(['26', '26', '30']);
    // …but a new stage starting does reset them.
    const stages = [
      { name: 'One', state: 'done' as const },
      { name: 'Two', state: 'active' as const },
    ];
    await feed({ version: 7, percent: 5, stages, tasks: [task('a', 5), task('b', 5)] });
    expect((await aria()).map((bar) => bar.now)).toEqual(['5', '5', '5']);
    // …and so does a new attempt, within which they never go back again; a stage ending does not.
    const ended = stages.map((stage) => ({ ...stage, state: 'done' as const }));
    await feed({ version: 8, percent: 40, stages: ended, tasks: [task('a', 40), task('b', 40)] });
    await feed({ version: 9, percent: 2, stages: ended, tasks: [task('a', 2, { attempt: 2 }), task('b', 2)] });
    expect((await aria()).map((bar) => bar.now)).toEqual(['2', '2', '2']);
    expect(await shadowText(page, '[part~=task]:nth-child(1) [part~=task-detail]')).toBe('retry 2');
    await feed({ version: 10, percent: 1, stages: ended, tasks: [task('a', 1, { attempt: 2 }), task('b', 1)] });
    expect((await aria()).map((bar) => bar.now)).toEqual(['2', '2', '2']);

    await feed({
      version: 11,
      status: 'complete',
      percent: 100,
      tasks: [task('a', 100, { status: 'complete' }), task('b', 100, { status: 'complete' })],
    });
    expect(await live()).toEqual({ live: 'polite', text: 'Fed by the host: Complete' });
    // The bar eases to 100 first (the closing ramp), then says so.
    await expect.poll(async () => (await aria())[0]).toMatchObject({ now: '100', text: '100%, Complete' });
    await page.close();
  });

  it('formats numbers for the page language and takes overridden strings', async () => {
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation cancelable strings='{"cancel":"Abbrechen","running":"Läuft","value":"{percent} ({status})"}'></live-operation>`,
      { lang: 'de' },
    );
    await page.evaluate(
      (s) => {
        document.querySelector('live-operation')!.snapshot = s;
      },
      snapshot({
        percent: 45,
        tasks: [
          {
            id: 'a',
            name: 'Zeilen',
            status: 'running',
            percent: 45,
            simulated: false,
            stalled: true,
            idleMs: 125_000,
            etaMs: null,
            done: 4500,
            total: 10000,
          },
        ],
      }),
    );
    expect(await shadowText(page, '[part~=overall-percent]')).toBe('45\u00a0%');
    expect(await shadowText(page, '[part~=status]')).toBe('Läuft');
    expect(await shadowText(page, '[part~=cancel-button]')).toBe('Abbrechen');
    // The page's strings win; the rest are German's, loaded as their own chunk.
    await expect.poll(() => shadowText(page, '[part~=task-detail]')).toBe('4.500 / 10.000 · seit 2 Min. keine Meldung');
    const valueText = await page.evaluate(() =>
      document
        .querySelector('live-operation')!
        .shadowRoot!.querySelector('[part~=overall-bar]')!
        .getAttribute('aria-valuetext'),
    );
    expect(valueText).toBe('45\u00a0% (Läuft)');
    await page.close();
  });

  it('watches a session given by session-id and base-url', async () => {
    const session = await suite.reporter.create({ title: 'By id', tasks: { t: 'Task' } });
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation session-id="${session.id}" base-url="${suite.server.url}" token="${session.viewerToken}"></live-operation>`,
    );
    await waitForShadowText(page, '[part~=title]', 'By id');
    await suite.reporter.send(session, [
      { type: 'start', task: 't' },
      { type: 'complete', task: 't' },
    ]);
    await waitForShadowText(page, '[part~=status]', 'Complete');
    await page.close();
  });

  it('shows elapsed time and the ETA from etaMs, and says when a task stalled', async () => {
    const { page } = await openPage(suite.browser, suite.server.url, '<live-operation></live-operation>');
    await page.evaluate(
      (s) => {
        document.querySelector('live-operation')!.snapshot = s;
      },
      snapshot({
        startedAt: new Date(Date.now() - 65_000).toISOString(),
        etaMs: 125_000,
        percent: 40,
        tasks: [
          {
            id: 'a',
            name: 'Quiet task',
            status: 'running',
            percent: 40,
            simulated: true,
            stalled: true,
            idleMs: 120_000,
            etaMs: 125_000,
          },
        ],
      }),
    );
    expect(await shadowText(page, '[part~=meta]')).toBe('1 min elapsed · about 2 min left');
    expect(await shadowText(page, '[part~=task-detail]')).toBe('no update for 2 min');
    const classes = await page.evaluate(
      () => document.querySelector('live-operation')!.shadowRoot!.querySelector('[part~=task]')!.className,
    );
    expect(classes.split(' ')).toEqual(expect.arrayContaining(['task', 'running', 'simulated', 'stalled']));
    await page.close();
  });

  it('with notify, asks for permission and notifies when the operation ends in a hidden tab', async () => {
    const { page } = await openPage(suite.browser, suite.server.url, '', {
      head: `<script>
        window.__notes = [];
        window.__asked = 0;
        window.Notification = class {
          static permission = 'default';
          static requestPermission() { window.__asked++; Notification.permission = 'granted'; return Promise.resolve('granted'); }
          constructor(title, options) { window.__notes.push({ title, body: options && options.body }); }
        };
        Object.defineProperty(document, 'hidden', { get: () => true });
      </script>`,
    });
    await page.evaluate(() => {
      const el = document.createElement('live-operation');
      el.setAttribute('notify', '');
      document.body.append(el);
    });
    await page.waitForFunction(() => (window as unknown as { __asked: number }).__asked === 1);
    const feed = (overrides: Parameters<typeof snapshot>[0]) =>
      page.evaluate((s) => {
        document.querySelector('live-operation')!.snapshot = s;
      }, snapshot(overrides));
    await feed({ version: 1, percent: 50 });
    await feed({ version: 2, status: 'error', percent: 50, error: { message: 'Out of memory' } });
    expect(await page.evaluate(() => (window as unknown as { __notes: unknown[] }).__notes)).toEqual([
      { title: 'Fed by the host: Failed', body: 'Out of memory' },
    ]);
    await page.close();
  });

  it('takes the theme, custom properties and ::part() styles, writes right to left, and respects reduced motion', async () => {
    const head = `<style>
      #custom { --live-operation-bar-color: rgb(255, 0, 0); --live-operation-radius: 0px; }
      #custom::part(title) { color: rgb(0, 128, 0); }
    </style>`;
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation></live-operation>
       <live-operation theme="dark"></live-operation>
       <live-operation id="custom"></live-operation>
       <live-operation dir="rtl"></live-operation>`,
      { head },
    );
    await page.evaluate(
      (s) => {
        for (const el of document.querySelectorAll('live-operation')) el.snapshot = s;
      },
      snapshot({ percent: 30 }),
    );
    const look = () =>
      page.evaluate(() =>
        [...document.querySelectorAll('live-operation')].map((el) => {
          const root = el.shadowRoot!;
          const base = getComputedStyle(root.querySelector('[part~=base]')!);
          const bar = root.querySelector('[part~=overall-bar]')!.getBoundingClientRect();
          const fill = root.querySelector('[part~=fill]')!;
          const box = fill.getBoundingClientRect();
          return {
            background: base.backgroundColor,
            radius: base.borderTopLeftRadius,
            title: getComputedStyle(root.querySelector('[part~=title]')!).color,
            fill: getComputedStyle(fill).backgroundColor,
            transition: getComputedStyle(fill).transitionDuration,
            fromStart: Math.round(box.left - bar.left) === 0,
            fromEnd: Math.round(bar.right - box.right) === 0,
          };
        }),
      );
    const [plain, dark, custom, rtl] = await look();
    expect(plain).toMatchObject({ background: 'rgb(255, 255, 255)', fill: 'rgb(9, 105, 218)', transition: '0.4s' });
    expect(dark).toMatchObject({ background: 'rgb(13, 17, 23)', fill: 'rgb(68, 147, 248)' });
    expect(custom).toMatchObject({ fill: 'rgb(255, 0, 0)', radius: '0px', title: 'rgb(0, 128, 0)' });
    expect(plain).toMatchObject({ fromStart: true, fromEnd: false });
    expect(rtl).toMatchObject({ fromStart: false, fromEnd: true });

    await page.emulateMedia({ colorScheme: 'dark', reducedMotion: 'reduce' });
    const [darkByMedia] = await look();
    expect(darkByMedia).toMatchObject({ background: 'rgb(13, 17, 23)', transition: '0s' });
    await page.close();
  });

  it('has text contrast of at least 4.5:1 and bar contrast of at least 3:1 in both themes', async () => {
    const cards = ['running', 'complete', 'error']
      .flatMap((status) =>
        ['light', 'dark'].map((theme) => `<live-operation theme="${theme}" data-status="${status}"></live-operation>`),
      )
      .join('');
    const { page } = await openPage(suite.browser, suite.server.url, cards);
    await page.evaluate(
      ([base, tasks]) => {
        for (const el of document.querySelectorAll<HTMLElement & { snapshot: unknown }>('live-operation')) {
          const status = el.dataset.status!;
          el.snapshot = {
            ...base,
            status,
            tasks: tasks.map((t) => ({ ...t, status })),
            message: status === 'running' ? { text: 'Low on disk', level: 'warning' } : null,
            error: status === 'error' ? { message: 'Out of memory' } : null,
          };
        }
      },
      [
        snapshot({ percent: 50, startedAt: new Date(Date.now() - 5000).toISOString() }),
        [{ id: 'a', name: 'A', percent: 50, simulated: false, stalled: false, etaMs: null, done: 1, total: 2 }],
      ] as const,
    );
    const pairs = await page.evaluate(() => {
      const rgb = (color: string) =>
        color
          .match(/[\d.]+/g)!
          .slice(0, 3)
          .map(Number);
      const luminance = (color: string) => {
        const [r, g, b] = rgb(color).map((c) => {
          const v = c / 255;
          return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
      };
      const ratio = (a: string, b: string) => {
        const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
        return Math.round(((x! + 0.05) / (y! + 0.05)) * 100) / 100;
      };
      const found: { what: string; ratio: number; min: number }[] = [];
      for (const el of document.querySelectorAll<HTMLElement>('live-operation')) {
        const root = el.shadowRoot!;
        const name = `${el.getAttribute('theme')} ${el.dataset.status}`;
        const background = getComputedStyle(root.querySelector('[part~=base]')!).backgroundColor;
        const text = (selector: string, against = background) => {
          const node = root.querySelector(selector);
          if (node)
            found.push({ what: `${name} ${selector}`, ratio: ratio(getComputedStyle(node).color, against), min: 4.5 });
        };
        for (const selector of [
          '[part~=title]',
          '[part~=status]',
          '[part~=task-name]',
          '[part~=task-detail]',
          '[part~=meta]',
          '[part~=message]',
        ])
          text(selector);
        const problem = root.querySelector('[part~=problem]');
        if (problem) text('[part~=problem]', getComputedStyle(problem).backgroundColor);
        const fill = getComputedStyle(root.querySelector('[part~=task-bar] [part~=fill]')!).backgroundColor;
        found.push({ what: `${name} bar against the card`, ratio: ratio(fill, background), min: 3 });
      }
      return found;
    });
    expect(pairs.length).toBe(40);
    expect(pairs.filter((p) => p.ratio < p.min)).toEqual([]);
    await page.close();
  });

  it('keeps the log collapsible, bounded, and in the asked order and mode', async () => {
    const { page } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation max-log-lines="5"></live-operation>
       <live-operation log-order="newest-first" log-open></live-operation>
       <live-operation log-mode="latest"></live-operation>`,
    );
    const logs = Array.from({ length: 8 }, (_, i) => ({
      seq: i + 1,
      at: new Date().toISOString(),
      line: `line ${i + 1}`,
    }));
    await page.evaluate(
      ([a, b]) => {
        for (const el of document.querySelectorAll('live-operation')) el.snapshot = a;
        // A repeated line (seq already seen) is dropped, a new one appended.
        for (const el of document.querySelectorAll('live-operation')) el.snapshot = b;
      },
      [snapshot({ version: 1, logs: logs.slice(0, 6) }), snapshot({ version: 2, logs: logs.slice(5) })] as const,
    );
    const lines = (n: number) =>
      page.evaluate(
        (n) =>
          [...document.querySelectorAll('live-operation')[n]!.shadowRoot!.querySelectorAll('[part~=log-line]')].map(
            (li) => li.textContent,
          ),
        n,
      );
    // Collapsed until toggled; the toggle says how many lines there are.
    expect(await lines(0)).toEqual([]);
    const toggle = page.locator('live-operation').first().locator('[part~=log-toggle]');
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await toggle.textContent()).toContain('Log (5)');
    await toggle.focus();
    await page.keyboard.press('Space');
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    expect(await lines(0)).toEqual(['line 4', 'line 5', 'line 6', 'line 7', 'line 8']);
    expect(await lines(1)).toEqual(['line 8', 'line 7', 'line 6', 'line 5', 'line 4', 'line 3', 'line 2', 'line 1']);
    expect(await lines(2)).toEqual(['line 8']);
    await page.close();
  });
});
