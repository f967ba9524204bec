/**
 * Completion hooks: `onFinish` (the operation's and the global one) and a
 * session's webhook are told once, with the final snapshot, whatever ended
 * it; a webhook is signed and retried; a failing hook changes nothing.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CreatedSession, Snapshot } from '../../../protocol/index.ts';
import type { LiveopOptions } from '../../../server/liveop.ts';
import { bearer, post } from '../../support/ndjson-client.ts';
import { REDIS_URL, redis } from '../../support/requirements.ts';
import { startServer, type TestServer } from '../../support/server.ts';
import { freshPrefix, storeFactory } from '../store/redis-helpers.ts';

const SECRET = 'webhook-secret-0123456789abcdef';
const req = await redis();
const stores = storeFactory();

/** A receiver on loopback that answers with `statuses` in turn (then 200) and keeps what it got. */
async function receiver(statuses: number[] = []) {
  const got: { body: string; signature: string }[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (d) => (body += d));
    request.on('end', () => {
      got.push({ body, signature: String(request.headers['liveop-signature']) });
      response.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/hook`, got, close: () => new Promise((r) => server.close(r)) };
}

/** What a receiver does to check a delivery (docs/protocol.md shows the same in Python). */
function verified(body: string, signature: string): boolean {
  const { t, v1 } = Object.fromEntries(signature.split(',').map((part) => part.split('=') as [string, string]));
  const expected = createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex');
  return v1 === expected && Math.abs(Date.now() / 1000 - Number(t)) < 300;
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  await stores.cleanup();
});

describe('completion hooks', () => {
  it('calls the operation’s and the global onFinish once each, with the final snapshot; a throwing one changes nothing', async () => {
    const seen: string[] = [];
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      server = await startServer({
        onFinish: (s) => {
          seen.push(`global ${s.status} ${s.percent}`);
          throw new Error('the global hook broke');
        },
      });
      server.liveop.operation('job', {
        run: async (task) => task.result({ ok: true }),
        onFinish: (s) => void seen.push(`operation ${s.status} ${JSON.stringify(s.result)}`),
      });
      const created = (await post(`${server.url}/operations/job`, {})).body as CreatedSession;
      await expect.poll(() => seen.length, { timeout: 5_000 }).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 100)); // only time passing shows that no hook is told twice
      expect(seen).toEqual(['operation complete {"ok":true}', 'global complete 100']);
      expect(((await (await fetch(created.snapshotUrl)).json()) as Snapshot).status).toBe('complete');
      expect(warn.mock.calls.map((c) => String(c[0]))).toContainEqual(
        expect.stringMatching(/onFinish hook .* failed: the global hook broke/),
      );
    } finally {
      warn.mockRestore();
    }
  });

  it('tells of a session failed by the clock — a silent worker — when its time comes', async () => {
    const seen: Snapshot[] = [];
    // A server default below what a client may ask for (1 s), so the time comes soon.
    server = await startServer({ onFinish: (s) => void seen.push(s), sessionDefaults: { deadAfterMs: 100 } });
    await post(`${server.url}/sessions`, { title: 'Silent' });
    await expect.poll(() => seen.length, { timeout: 5_000 }).toBe(1);
    expect(seen[0]).toMatchObject({ status: 'error', error: { message: expect.stringMatching(/No worker started/) } });
  });

  it('refuses a webhook when the server signs none', async () => {
    server = await startServer();
    const answer = await post(`${server.url}/sessions`, { title: 'T', webhook: 'https://example.com/hook' });
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(/^webhook: /);
  });
});

const WEBHOOKS: [string, () => Promise<Partial<LiveopOptions>>, boolean][] = [
  ['this process', async () => ({}), true],
  [
    'BullMQ workers',
    async () => {
      const prefix = freshPrefix();
      return { store: await stores.make({ prefix }), runner: { bullmq: { url: REDIS_URL, prefix } } };
    },
    req.available,
  ],
];

describe.each(WEBHOOKS)('webhooks delivered from %s', (where, options, available) => {
  it.skipIf(!available)(
    'POSTs the final snapshot once, signed, trying again after the receiver answered 500',
    async () => {
      const hook = await receiver([500]);
      try {
        server = await startServer({
          ...(await options()),
          webhooks: { secret: SECRET, allowPrivateNetworks: true },
        });
        if (where === 'BullMQ workers') await server.liveop.work();
        const created = (await post(`${server.url}/sessions`, { title: 'Hooked', webhook: hook.url }))
          .body as CreatedSession;
        await post(
          `${created.snapshotUrl}/events`,
          [{ type: 'complete', task: 'main' }],
          bearer(created.reporterToken),
        );
        await expect.poll(() => hook.got.length, { timeout: 15_000 }).toBe(2);
        await new Promise((resolve) => setTimeout(resolve, 100)); // only time passing shows that no third comes
        expect(hook.got).toHaveLength(2);
        expect(hook.got[1]!.body).toBe(hook.got[0]!.body);
        for (const { body, signature } of hook.got) expect(verified(body, signature)).toBe(true);
        const delivered = JSON.parse(hook.got[1]!.body);
        expect(delivered).toMatchObject({
          type: 'session.finished',
          session: { id: created.id, status: 'complete', percent: 100 },
        });
        expect(verified(hook.got[1]!.body.replace('complete', 'error'), hook.got[1]!.signature)).toBe(false);
      } finally {
        await hook.close();
      }
    },
    30_000,
  );
});
