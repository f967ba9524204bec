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
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import pRetry, { AbortError } from 'p-retry';
import type { Snapshot } from '../../protocol/index.ts';
import { type AddressPolicy, allowedAddresses, type Resolve, type ResolvedAddress } from './webhook-guard.ts';

export interface WebhookOptions {
  /** Signs every delivery; receivers check with the same secret. */
  secret: string;
  /**
   * Turns the address guard off: webhooks may go to loopback, private
   * networks, this host and every other special-purpose address (a receiver
   * on this machine or a private network you trust). Otherwise such a URL is
   * refused at creation (a literal address, `localhost`) or at delivery (a
   * name that resolves to one), and redirects are never followed either way.
   * `LIVEOP_WEBHOOK_PRIVATE=1` for `liveop serve`.
   * @default false
   */
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

/**
 * One delivery attempt: throws (to be retried) on a network error, a 5xx or a
 * 429; a refused address, a redirect or another 4xx is final (`AbortError`).
 * Redirects are not followed: a webhook goes to the URL its creator gave, and
 * a `Location` could point anywhere. `network` replaces name resolution and
 * the address policy in tests, which must stay on loopback.
 */
export async function postWebhook(
  url: string,
  body: string,
  options: WebhookOptions,
  network: Partial<WebhookNetwork> = {},
): Promise<void> {
  const target = new URL(url);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw new AbortError(`${target.protocol} webhooks are not sent`);
  }
  const signal = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const checked = options.allowPrivateNetworks
    ? undefined
    : await untilAborted(allowedAddresses(target, network.resolve, network.refusal), signal);
  const headers = {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'User-Agent': 'liveop-webhook',
    'Liveop-Signature': webhookSignature(body, options.secret),
  };
  const status = await send(target, { method: 'POST', headers, signal }, body, checked?.addresses);
  if (status >= 200 && status < 300) return;
  const message = `the webhook answered ${status}`;
  if (status >= 500 || status === 429) throw new Error(message);
  if (status >= 300 && status < 400) throw new AbortError(`${message}; redirects are not followed`);
  throw new AbortError(message);
}

/** Name resolution and the address policy a delivery uses (tests replace them). */
export interface WebhookNetwork {
  resolve: Resolve;
  refusal: AddressPolicy;
}

/**
 * Sends the request and answers with the status. With `addresses`, the
 * connection goes to those (the ones the guard checked) and nowhere else: the
 * lookup the socket asks is answered from them, not by resolving again. A
 * connection of its own (`agent: false`), so none pooled for another address
 * is reused.
 */
function send(url: URL, options: RequestOptions, body: string, addresses?: ResolvedAddress[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      { ...options, agent: false, ...(addresses ? { lookup: pinnedLookup(addresses) } : {}) },
      (response) => {
        response.on('error', () => {}); // the body is not read: a reset after the status changes nothing
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return (hostname, options, callback) => {
    const usable = addresses.filter((a) => !options.family || a.family === options.family);
    const first = usable[0];
    if (first === undefined) {
      callback(Object.assign(new Error(`no IPv${options.family} address for ${hostname}`), { code: 'ENOTFOUND' }), '');
    } else if (options.all) callback(null, usable);
    else callback(null, first.address, first.family);
  };
}

/** `promise`, or the signal's reason once it aborts (a lookup cannot be cancelled, only left). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason);
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

/** How deliveries are retried, defaults filled in: here and on BullMQ's webhooks queue alike. */
export function webhookRetries(options: WebhookOptions): { attempts: number; delayMs: number } {
  return { attempts: Math.max(1, options.attempts ?? 8), delayMs: 1_000 };
}

/** Delivers with retries here, in this process (the local runners; BullMQ queues it instead). */
export async function deliverWebhook(url: string, snapshot: Snapshot, options: WebhookOptions): Promise<void> {
  const body = webhookBody(snapshot);
  const { attempts, delayMs } = webhookRetries(options);
  await pRetry(() => postWebhook(url, body, options), {
    retries: attempts - 1,
    minTimeout: delayMs,
    maxTimeout: 60_000,
    factor: 2,
  });
}
