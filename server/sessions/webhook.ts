/**
 * A session's webhook: its final snapshot, POSTed as JSON to the URL its
 * creator gave, signed so the receiver knows it came from this server.
 *
 * `Liveop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
 * with the webhook secret (Stripe's scheme: the time is signed too, so a
 * receiver can refuse replays older than a few minutes). docs/protocol.md
 * shows how to check it in TypeScript and Python.
 */
import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import pRetry, { AbortError } from 'p-retry';
import type { Snapshot } from '../protocol/index.ts';

export interface WebhookOptions {
  /** Signs every delivery; receivers check with the same secret. */
  secret: string;
  /** Deliver to loopback and private networks too (open mode, tests). @default false */
  allowPrivateNetworks?: boolean;
  /** Attempts in all, with exponential backoff from 1 s (capped at a minute). @default 8 */
  attempts?: number;
  /** How long one attempt may take. @default 10000 */
  timeoutMs?: number;
}

export function webhookSignature(body: string, secret: string, now = Date.now()): string {
  const t = Math.floor(now / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** The body a webhook carries: the event and the final snapshot. */
export function webhookBody(snapshot: Snapshot): string {
  return JSON.stringify({ type: 'session.finished', session: snapshot });
}

/** One delivery attempt: throws (to be retried) on a network error, a 5xx or a 429; a 4xx is final. */
export async function postWebhook(url: string, body: string, options: WebhookOptions): Promise<void> {
  await assertPublic(url, options.allowPrivateNetworks ?? false);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'User-Agent': 'liveop-webhook',
      'Liveop-Signature': webhookSignature(body, options.secret),
    },
    body,
    redirect: 'error',
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  await response.body?.cancel();
  if (response.ok) return;
  const message = `the webhook answered ${response.status}`;
  if (response.status >= 500 || response.status === 429) throw new Error(message);
  throw new AbortError(message);
}

/** Delivers with retries here, in this process (the local runners; BullMQ queues it instead). */
export async function deliverWebhook(url: string, snapshot: Snapshot, options: WebhookOptions): Promise<void> {
  const body = webhookBody(snapshot);
  await pRetry(() => postWebhook(url, body, options), {
    retries: (options.attempts ?? 8) - 1,
    minTimeout: 1_000,
    maxTimeout: 60_000,
    factor: 2,
  });
}

/**
 * Refuses a host on loopback or a private network unless allowed: a webhook
 * URL is the creator's choice, and must not turn the server into a way to
 * reach what only it can reach.
 */
async function assertPublic(url: string, allowPrivate: boolean): Promise<void> {
  const { protocol, hostname } = new URL(url);
  if (protocol !== 'https:' && protocol !== 'http:') throw new AbortError(`${protocol} webhooks are not sent`);
  if (allowPrivate) return;
  const host = hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  const inside = addresses.find(isPrivate);
  if (inside) throw new AbortError(`the webhook host ${hostname} is on a private network (${inside})`);
}

function isPrivate(address: string): boolean {
  if (address.includes(':')) {
    const a = address.toLowerCase();
    return (
      a === '::1' ||
      a === '::' ||
      a.startsWith('fc') ||
      a.startsWith('fd') ||
      a.startsWith('fe80') ||
      a.startsWith('::ffff:')
    );
  }
  const [x = 0, y = 0] = address.split('.').map(Number);
  return (
    x === 10 ||
    x === 127 ||
    x === 0 ||
    (x === 169 && y === 254) ||
    (x === 172 && y >= 16 && y <= 31) ||
    (x === 192 && y === 168) ||
    (x === 100 && y >= 64 && y <= 127)
  );
}
