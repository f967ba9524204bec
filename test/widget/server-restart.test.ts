/**
 * A restart of a server with the defaults (memory store, no LIVEOP_SECRET),
 * against real processes: the sessions are gone, and the open page and the
 * reporter are told so — the page shows it, the reporter stops.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type LiveopClientError } from '../../client/index.ts';
import { freePort, type SpawnedServer, spawnServer } from '../support/spawned-server.ts';
import { assertBuilt, launch, openPage, shadowText, waitForShadowText } from './browser.ts';

let browser: Browser;
let server: SpawnedServer | undefined;
beforeAll(async () => {
  assertBuilt();
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  server?.kill();
});

describe('a server with the memory store, restarted', () => {
  it('says at start that a restart loses sessions; after one, the page says the server restarted and the reporter stops', async () => {
    const port = await freePort();
    server = await spawnServer({}, port);
    expect(server.output()).toMatch(/sessions are kept in memory: a restart loses them/);
    expect(server.output()).toMatch(/OPEN mode .* may create sessions and post events with no credential/);
    const errors: LiveopClientError[] = [];
    const client = createClient({ baseUrl: server.url, onError: (error) => errors.push(error) });
    const session = await client.createSession({
      title: 'Import',
      tasks: [{ id: 'rows', name: 'Rows', expectedMs: 60_000 }],
    });
    session.steps('rows', 10, 100);
    await session.flush();
    const { page } = await openPage(
      browser,
      server.url,
      `<live-operation src="${session.streamUrl}" token="${session.viewerToken}"></live-operation>`,
    );
    await waitForShadowText(page, '[part~=status]', 'Running');
    // Reports over a second or more give a rate, and so an ETA.
    let row = 10;
    await expect
      .poll(
        async () => {
          session.steps('rows', ++row, 100);
          await session.flush();
          return shadowText(page, '[part~=meta]');
        },
        { timeout: 10_000, interval: 200 },
      )
      .toMatch(/left/);

    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    server = await spawnServer({}, port);

    await waitForShadowText(page, '[part~=problem]', 'No longer available — the server restarted');
    // The last snapshot stays, but its ETA no longer counts down as if the work went on.
    expect(await shadowText(page, '[part~=meta]')).not.toMatch(/left/);

    session.steps('rows', row + 1, 100);
    await expect(session.flush()).rejects.toMatchObject({
      status: 404,
      code: 'server_restarted',
      message: 'this operation is no longer available — the server restarted, and its sessions were kept in memory',
    });
    await expect(session.snapshot()).rejects.toMatchObject({ status: 404, code: 'server_restarted' });
    // Stopped: later reports are dropped here, not refused one batch at a time.
    for (let later = row + 2; later < 100; later++) session.steps('rows', later, 100);
    await session.flush();
    await session.close();
    expect(errors.map((e) => e.code)).toEqual(['server_restarted']);
  }, 60_000);
});
