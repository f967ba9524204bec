/** How long to wait before trying again: exponential backoff with full jitter, `Retry-After`, and a sleep that can be cut short. */
import type { RetryOptions } from './options.ts';

/** The longest `Retry-After` obeyed: a wait past it is taken as this. */
const MAX_RETRY_AFTER_MS = 300_000;

/**
 * The wait before retry number `retry` (0 for the first): a random time
 * between 0 and `min(maxDelayMs, baseDelayMs · 2^retry)` ("full jitter", so
 * many clients that failed together do not come back together), and never
 * less than the server's `Retry-After`.
 */
export function backoffMs(retry: number, policy: Required<RetryOptions>, retryAfterMs: number | null = null): number {
  const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retry, 30));
  return Math.max(Math.random() * bound, retryAfterMs ?? 0);
}

/** A response's `Retry-After` (seconds, or an HTTP date) in milliseconds; null without one. */
export function retryAfterMs(response: Response, now = Date.now()): number | null {
  const value = response.headers.get('retry-after')?.trim();
  if (!value) return null;
  const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : (Date.parse(value) - now) / 1000;
  if (!Number.isFinite(seconds)) return null;
  return Math.min(Math.max(0, seconds * 1000), MAX_RETRY_AFTER_MS);
}

/** Resolves after `ms`, or at once when `signal` aborts (check `signal.aborted` after). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
