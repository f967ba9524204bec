/**
 * Where a webhook goes: refused at creation when its literal address or
 * `localhost` name is (a 400 that says why and how to allow it), resolved
 * and checked at delivery when it is a name, sent to exactly the addresses
 * checked (a DNS answer that changes in between changes nothing), and never
 * redirected. Every receiver here listens on 127.0.0.0/8, and a resolver the
 * test gives answers the names: nothing leaves this machine.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AbortError } from 'p-retry';
import { afterEach, describe, expect, it } from 'vitest';
import { deliverWebhook, postWebhook } from '../../../server/sessions/webhook.ts';
import type { AddressPolicy, Resolve } from '../../../server/sessions/webhook-guard.ts';
import type { SessionPage } from '../../../server/store/session-store.ts';
import { post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';

const SECRET = 'webhook-secret-0123456789abcdef';

/** A receiver on a loopback address that answers each request with `answer` and keeps what it got. */
async function receiver(
  host: string,
  port = 0,
  answer: (response: ServerResponse) => void = (response) => response.writeHead(200).end(),
) {
  const got: string[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (d) => (body += d));
    request.on('end', () => {
      got.push(body);
      answer(response);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as { port: number };
  return { port: address.port, got, close: () => new Promise((r) => server.close(r)) };
}

/** A resolver that gives `answers` in turn (the last one again after), counting its calls. */
function resolverAnswering(...answers: string[][]): Resolve & { calls: number } {
  const resolve = Object.assign(
    async (_hostname: string) => {
      const answer = answers[Math.min(resolve.calls, answers.length - 1)]!;
      resolve.calls += 1;
      return answer.map((address) => ({ address, family: 4 as const }));
    },
    { calls: 0 },
  );
  return resolve;
}

/** Stands for the real policy on loopback: 127.0.0.2 plays a public address, the rest of 127/8 a private one. */
const policy: AddressPolicy = (address) => (address === '127.0.0.2' ? undefined : `${address} is private here`);

const closers: (() => Promise<unknown>)[] = [];
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** A public-looking receiver on 127.0.0.2 and a "private" one on 127.0.0.3, on one port. */
async function publicAndPrivate() {
  const outside = await receiver('127.0.0.2');
  closers.push(outside.close);
  const inside = await receiver('127.0.0.3', outside.port);
  closers.push(inside.close);
  return { outside, inside, url: `http://hooks.example.test:${outside.port}/hook` };
}

describe('a webhook at creation', () => {
  it.each([
    ['http://127.0.0.1:9/hook', /127\.0\.0\.1 is a loopback address/],
    ['http://2130706433/hook', /127\.0\.0\.1 is a loopback address/],
    ['http://localhost:8080/hook', /localhost is a loopback name/],
    ['http://192.168.1.20/hook', /192\.168\.1\.20 is a private network address/],
    ['http://[::ffff:169.254.169.254]/latest', /IPv4-mapped address of 169\.254\.169\.254, a link-local address/],
    ['http://[64:ff9b::a00:1]/', /NAT64 address .* of 10\.0\.0\.1, a private network address/],
    ['http://198.18.0.1/', /198\.18\.0\.1 is a reserved address \(benchmarking/],
  ])(
    'refuses %s with a 400 naming the field, the rule and LIVEOP_WEBHOOK_PRIVATE, and creates nothing',
    async (url, rule) => {
      server = await startServer({ webhooks: { secret: SECRET } });
      const answer = await post(`${server.url}/sessions`, { title: 'Hooked', webhook: url });
      expect(answer.status).toBe(400);
      expect(Object.keys(answer.body)).toEqual(['error']);
      expect(answer.body.error.code).toBe('invalid_body');
      expect(answer.body.error.message).toMatch(/^webhook: /);
      expect(answer.body.error.message).toMatch(rule);
      expect(answer.body.error.message).toMatch(/LIVEOP_WEBHOOK_PRIVATE=1/);
      const listed = (await (await fetch(`${server.url}/sessions`)).json()) as SessionPage;
      expect(listed.sessions).toEqual([]);
    },
  );

  it('refuses it in the in-process createSession too, with the same message', async () => {
    server = await startServer({ webhooks: { secret: SECRET } });
    await expect(server.liveop.createSession({ webhook: 'http://[fec0::1]/hook' })).rejects.toThrow(
      /^webhook: fec0::1 is a site-local address \(fec0::\/10\); .*LIVEOP_WEBHOOK_PRIVATE=1/,
    );
  });

  it('accepts a loopback webhook when private networks are allowed, and a name (checked at delivery) when not', async () => {
    server = await startServer({ webhooks: { secret: SECRET, allowPrivateNetworks: true } });
    expect((await post(`${server.url}/sessions`, { webhook: 'http://127.0.0.1:9/hook' })).status).toBe(201);
    await server.close();
    server = await startServer({ webhooks: { secret: SECRET } });
    expect((await post(`${server.url}/sessions`, { webhook: 'https://hooks.example.test/liveop' })).status).toBe(201);
  });
});

describe('a webhook at delivery', () => {
  it('refuses a name that resolves to loopback, before connecting', async () => {
    const hook = await receiver('127.0.0.1');
    closers.push(hook.close);
    const resolve = resolverAnswering(['127.0.0.1']);
    const sent = postWebhook(`http://hooks.example.test:${hook.port}/hook`, '{}', { secret: SECRET }, { resolve });
    await expect(sent).rejects.toThrow(AbortError);
    await expect(sent).rejects.toThrow(
      'the webhook host hooks.example.test is refused: 127.0.0.1 is a loopback address',
    );
    expect(hook.got).toEqual([]);
  });

  it('refuses a name when any address it resolves to is refused, and connects to none of them', async () => {
    const { outside, inside, url } = await publicAndPrivate();
    const resolve = resolverAnswering(['127.0.0.2', '127.0.0.3']);
    await expect(postWebhook(url, '{}', { secret: SECRET }, { resolve, refusal: policy })).rejects.toThrow(
      /refused: 127\.0\.0\.3 is private here/,
    );
    expect([outside.got, inside.got]).toEqual([[], []]);
  });

  it('connects to the address it checked though the name then resolves elsewhere (DNS rebinding), and refuses the new answer next time', async () => {
    const { outside, inside, url } = await publicAndPrivate();
    const resolve = resolverAnswering(['127.0.0.2'], ['127.0.0.3']);
    await postWebhook(url, '{"n":1}', { secret: SECRET }, { resolve, refusal: policy });
    expect(outside.got).toEqual(['{"n":1}']);
    expect(inside.got).toEqual([]);
    expect(resolve.calls).toBe(1);
    await expect(postWebhook(url, '{"n":2}', { secret: SECRET }, { resolve, refusal: policy })).rejects.toThrow(
      /refused: 127\.0\.0\.3 is private here/,
    );
    expect(inside.got).toEqual([]);
  });

  it('does not follow a redirect, even to an allowed address, and does not try again', async () => {
    const target = await receiver('127.0.0.1');
    closers.push(target.close);
    const redirecting = await receiver('127.0.0.1', 0, (response) =>
      response.writeHead(307, { Location: `http://127.0.0.1:${target.port}/elsewhere` }).end(),
    );
    closers.push(redirecting.close);
    const delivered = deliverWebhook(`http://127.0.0.1:${redirecting.port}/hook`, { id: 'redirected' } as never, {
      secret: SECRET,
      allowPrivateNetworks: true,
    });
    await expect(delivered).rejects.toThrow('the webhook answered 307; redirects are not followed');
    expect(redirecting.got).toHaveLength(1);
    expect(target.got).toEqual([]);
  });
});
