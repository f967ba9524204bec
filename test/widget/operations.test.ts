/**
 * `<live-operation>` on operations the server runs itself (`POST
 * /operations/:name`), in real Chromium against the real server: a session
 * waiting in the runner's queue shows its place, and a failed session that
 * was restarted hands its viewers on to the new attempt.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession } from '../../protocol/index.ts';
import { chromium } from '../support/requirements.ts';
import {
  attrs,
  elementSuite,
  openPage,
  recordEventsFromTheStart,
  recordedEvents,
  shadowText,
  waitForShadowText,
} from './browser.ts';

const req = chromium();

describe.skipIf(!req.available)('<live-operation> on operations the server runs', () => {
  // One operation at a time: the others wait in the queue, each told its place.
  const suite = elementSuite(() => ({ operationConcurrency: 1 }));

  /** Releases the runs that wait, in the order they started. */
  const waiting: (() => void)[] = [];
  const releaseNext = () => waiting.shift()?.();
  afterEach(() => {
    // Whatever a test left waiting, so the next one finds the queue empty.
    while (waiting.length) releaseNext();
  });

  async function start(name: string): Promise<CreatedSession> {
    const response = await fetch(`${suite.server.url}/operations/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    if (response.status !== 201) throw new Error(`${name}: ${response.status} ${await response.text()}`);
    return (await response.json()) as CreatedSession;
  }

  it('says a waiting session\'s place in the queue, "Queued (#2)", until its turn comes', async () => {
    suite.server.liveop.operation('export', {
      title: 'Export orders',
      run: () => new Promise<void>((resolve) => waiting.push(resolve)),
    });
    const running = await start('export');
    const first = await start('export');
    const second = await start('export');
    await expect.poll(async () => (await suite.server.liveop.snapshot(second.id)).queuePosition).toBe(2);
    const { page, errors } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(second)}></live-operation>`,
    );
    await waitForShadowText(page, '[part~=status]', 'Queued (#2)');
    expect(await shadowText(page, '[part~=title]')).toBe('Export orders');

    releaseNext(); // the running one ends; the first waiting one starts
    await waitForShadowText(page, '[part~=status]', 'Queued (#1)');
    releaseNext();
    await waitForShadowText(page, '[part~=status]', 'Running');
    releaseNext();
    await waitForShadowText(page, '[part~=status]', 'Complete');
    for (const session of [running, first, second])
      expect((await suite.server.liveop.snapshot(session.id)).status).toBe('complete');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('moves from a failed session that was restarted to the new attempt without a page reload', async () => {
    let runs = 0;
    suite.server.liveop.operation('sync', {
      title: 'Sync the catalogue',
      tasks: { fetch: 'Fetch products' },
      run: async (task) => {
        runs += 1;
        if (runs === 1) throw new Error('Upstream timed out');
        task.steps(1, 4, 'pages');
        await new Promise<void>((resolve) => waiting.push(resolve));
        task.steps(4, 4, 'pages');
      },
    });
    const failed = await start('sync');
    await expect.poll(async () => (await suite.server.liveop.snapshot(failed.id)).status).toBe('error');
    const restart = await fetch(`${suite.server.url}/sessions/${failed.id}/restart`, { method: 'POST' });
    expect(restart.status).toBe(201);
    const attempt = (await restart.json()) as CreatedSession;

    // The failed session's own link, as a page that had it would still hold it; its events recorded from the start.
    const { page, errors } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(failed)}></live-operation>`,
      { before: (p) => void recordEventsFromTheStart(p) },
    );
    await page.evaluate(() => Object.assign(window, { __loaded: true }));
    await waitForShadowText(page, '[part~=task-detail]', '1 / 4 pages');
    expect(await shadowText(page, '[part~=status]')).toBe('Running');
    expect(await shadowText(page, '[part~=problem]')).toBeNull();
    const shown = () => page.evaluate(() => document.querySelector('live-operation')!.snapshot?.id);
    expect(await shown()).toBe(attempt.id);

    releaseNext();
    await waitForShadowText(page, '[part~=status]', 'Complete');
    expect(await shadowText(page, '[part~=task-detail]')).toBe('4 / 4 pages');
    const events = await recordedEvents(page);
    // The failure points on: a chain, not an error.
    expect(events.filter((e) => e.type === 'live-operation-error')).toEqual([]);
    const chain = events.filter((e) => e.type === 'live-operation-chain');
    expect(chain).toHaveLength(1);
    expect(chain[0]!.detail).toMatchObject({
      id: failed.id,
      status: 'error',
      error: { message: 'Upstream timed out' },
      next: { id: attempt.id },
    });
    expect(
      events.filter((e) => e.type === 'live-operation-complete').map((e) => (e.detail as { id: string }).id),
    ).toEqual([attempt.id]);
    expect(await page.evaluate(() => (window as unknown as { __loaded: boolean }).__loaded)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });
});
