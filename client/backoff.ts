/** How long to wait before trying a request again: the protocol's backoff, the server's `Retry-After`, and a sleep that can be cut short. */
import { backoffMs, parseRetryAfter } from '../protocol/index.ts';
import type { RetryOptions } from './options.ts';

/** The wait before retry number `retry` (0 for the first), never less than the server's `Retry-After`. */
export function retryDelayMs(
  retry: number,
  policy: Required<RetryOptions>,
  retryAfterMs: number | null = null,
): number {
  return Math.max(backoffMs(retry, policy), retryAfterMs ?? 0);
}

/** A response's `Retry-After` (seconds, or an HTTP date) in milliseconds; null without one. */
export const retryAfterMs = (response: Response, now = Date.now()): number | null =>
  parseRetryAfter(response.headers.get('retry-after'), now);

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
