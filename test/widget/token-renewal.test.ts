/**
 * `<live-operation>` open longer than its viewer token lives, in real
 * Chromium against the real server: the stream hands it a fresh token
 * (`{"type":"token"}`) before the first expires, and it goes on with that one.
 */
import { describe, expect, it } from 'vitest';
import { manualClock } from '../support/clock.ts';
import { chromium } from '../support/requirements.ts';
import { attrs, elementSuite, openPage, shadowText, waitForShadowText } from './browser.ts';

const req = chromium();

/** When a token expires (ms), from its payload: `base64url(JSON).signature`. */
const expiresAt = (token: string): number =>
  JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).exp * 1000;

describe.skipIf(!req.available)('<live-operation> past its viewer token', () => {
  // Viewer tokens live 4 s; the server renews a stream's 2 s before. Its
  // clock is the test's: the token's life passes when the test moves it.
  const clock = manualClock();
  const suite = elementSuite(() => ({ viewerTokenTtlSeconds: 4, now: clock.now }));

  it('cancels with the token its stream renewed after the one it was given has expired', async () => {
    const session = await suite.reporter.create({ title: 'Long export', tasks: { export: 'Export' } });
    await suite.reporter.send(session, [{ type: 'start', task: 'export' }]);
    const { page, errors } = await openPage(
      suite.browser,
      suite.server.url,
      `<live-operation ${attrs(session)}></live-operation>`,
    );
    await waitForShadowText(page, '[part~=status]', 'Running');
    const given = new URL(session.streamUrl).searchParams.get('token') ?? session.viewerToken;
    const held = () => page.evaluate(() => document.querySelector('live-operation')!.stream.token);
    clock.advance(2_500); // past the renewal time (2 s before the expiry); the hub looks each second
    await expect.poll(held, { timeout: 5_000 }).not.toBe(given);

    // The token the element was given has expired: the server refuses it now.
    clock.advance(expiresAt(given) - clock.now() + 1_000);
    const refused = await fetch(`${suite.server.url}/sessions/${session.id}?token=${encodeURIComponent(given)}`);
    expect(refused.status).toBe(401);

    const cancel = page.waitForRequest((request) => request.url().includes('/cancel'));
    const answer = page.waitForResponse((response) => response.url().includes('/cancel'));
    const button = page.locator('live-operation').locator('[part~=cancel-button]');
    await button.click();
    await button.click(); // "Yes, cancel it"
    const renewed = new URL((await cancel).url()).searchParams.get('token')!;
    expect(renewed).not.toBe(given);
    expect(expiresAt(renewed)).toBeGreaterThan(clock.now());
    expect((await answer).status()).toBe(202);
    await waitForShadowText(page, '[part~=status]', 'Cancelling…');
    // Still live on the renewed token: the reporter's answer reaches the page.
    await suite.reporter.send(session, [{ type: 'cancelled' }]);
    await waitForShadowText(page, '[part~=status]', 'Cancelled');
    expect(await shadowText(page, '[part~=problem]')).toBeNull();
    expect(errors).toEqual([]);
    await page.close();
  });
});
