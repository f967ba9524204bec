/** The client's options, their defaults, and how they are read. */
import type { LiveopClientError } from './errors.ts';

/** How requests that got no answer, a `503` or a `429` are tried again. */
export interface RetryOptions {
  /**
   * Tries after the first one before giving up. `0` never retries.
   *
   * @default 8
   * @example
   * ```ts
   * createClient({ baseUrl, retry: { attempts: 3 } });
   * ```
   */
  attempts?: number;
  /**
   * The first retry waits up to this long; each further one up to twice as
   * long as the one before (exponential backoff, full jitter: a random wait
   * between 0 and the bound).
   *
   * @default 250
   * @example
   * ```ts
   * createClient({ baseUrl, retry: { baseDelayMs: 100 } });
   * ```
   */
  baseDelayMs?: number;
  /**
   * The bound on the backoff between two tries. A server's `Retry-After`
   * is obeyed even when longer (up to 5 minutes).
   *
   * @default 10000
   * @example
   * ```ts
   * createClient({ baseUrl, retry: { maxDelayMs: 2_000 } });
   * ```
   */
  maxDelayMs?: number;
}

export interface ClientOptions {
  /**
   * Where the Liveop server is: its origin, plus the path it is mounted at, if any.
   *
   * @example
   * ```ts
   * createClient({ baseUrl: 'https://progress.example.com' });
   * ```
   */
  baseUrl: string | URL;
  /**
   * An API key (`Authorization: Bearer KEY`), for `createSession()` and for
   * sessions attached without a token. Leave it out against a server in open
   * mode, and in browsers (which should hold only tokens).
   *
   * @default undefined
   * @example
   * ```ts
   * createClient({ baseUrl, apiKey: process.env.LIVEOP_API_KEY });
   * ```
   */
  apiKey?: string;
  /**
   * The `fetch` to use: for a proxy agent, instrumentation, or a runtime
   * without a global one.
   *
   * @default globalThis.fetch
   * @example
   * ```ts
   * createClient({ baseUrl, fetch: (input, init) => fetch(input, { ...init, keepalive: true }) });
   * ```
   */
  fetch?: typeof fetch;
  /**
   * Reports are collected and sent as one batch at most this often (the first
   * report after a quiet spell goes at once). `flush()` and `close()` send at once.
   *
   * @default 200
   * @example
   * ```ts
   * createClient({ baseUrl, flushIntervalMs: 1_000 });
   * ```
   */
  flushIntervalMs?: number;
  /**
   * Once a session has reported something, a `heartbeat` event is sent after
   * this long without any other send, until the session ends or `close()`,
   * so its tasks do not show stalled and the server's dead-worker timeout
   * does not fail it. `0` sends none.
   *
   * @default 20000
   * @example
   * ```ts
   * createClient({ baseUrl, heartbeatMs: 10_000 });
   * ```
   */
  heartbeatMs?: number;
  /**
   * Retries of requests that got no answer, a `503` or a `429` (see {@link RetryOptions}).
   *
   * @default { attempts: 8, baseDelayMs: 250, maxDelayMs: 10000 }
   * @example
   * ```ts
   * createClient({ baseUrl, retry: { attempts: 20, maxDelayMs: 30_000 } });
   * ```
   */
  retry?: RetryOptions;
  /**
   * How long one try of a request may take before it counts as unanswered
   * (and is retried); `0` waits for ever. Streams are not timed out this way:
   * a watch reconnects after 45 s without a line (the server sends a
   * heartbeat every 15 s).
   *
   * @default 30000
   * @example
   * ```ts
   * createClient({ baseUrl, timeoutMs: 10_000 });
   * ```
   */
  timeoutMs?: number;
  /**
   * The largest events body sent in one request, in bytes; more is split into
   * several batches. Keep it under the server's `maxBodyBytes` (1 MiB by default).
   *
   * @default 1000000
   * @example
   * ```ts
   * createClient({ baseUrl, maxBatchBytes: 256 * 1024 });
   * ```
   */
  maxBatchBytes?: number;
  /**
   * Told of every batch the server refused (a `4xx`) or that got no answer
   * after the retries, as it happens. The same error also rejects the next
   * `flush()` or `close()` of that session.
   *
   * @default undefined
   * @example
   * ```ts
   * createClient({ baseUrl, onError: (error, sessionId) => console.warn(sessionId, error.code, error.message) });
   * ```
   */
  onError?: (error: LiveopClientError, sessionId: string) => void;
}

/** The options with every default filled in. */
export interface ResolvedOptions {
  baseUrl: string;
  apiKey: string | undefined;
  fetch: typeof fetch;
  flushIntervalMs: number;
  heartbeatMs: number;
  retry: Required<RetryOptions>;
  timeoutMs: number;
  maxBatchBytes: number;
  onError: (error: LiveopClientError, sessionId: string) => void;
}

export const DEFAULTS = {
  flushIntervalMs: 200,
  heartbeatMs: 20_000,
  retry: { attempts: 8, baseDelayMs: 250, maxDelayMs: 10_000 },
  timeoutMs: 30_000,
  maxBatchBytes: 1_000_000,
} as const;

export function resolveOptions(options: ClientOptions): ResolvedOptions {
  if (options.baseUrl === undefined || String(options.baseUrl) === '') {
    throw new TypeError('createClient: baseUrl is required');
  }
  const baseUrl = new URL(String(options.baseUrl)).href.replace(/\/+$/, '');
  const custom = options.fetch;
  return {
    baseUrl,
    apiKey: options.apiKey,
    // Called through globalThis at request time: browsers refuse a detached `fetch`.
    fetch: custom ?? ((input, init) => globalThis.fetch(input, init)),
    flushIntervalMs: nonNegative(options.flushIntervalMs, DEFAULTS.flushIntervalMs, 'flushIntervalMs'),
    heartbeatMs: nonNegative(options.heartbeatMs, DEFAULTS.heartbeatMs, 'heartbeatMs'),
    retry: {
      attempts: nonNegative(options.retry?.attempts, DEFAULTS.retry.attempts, 'retry.attempts'),
      baseDelayMs: nonNegative(options.retry?.baseDelayMs, DEFAULTS.retry.baseDelayMs, 'retry.baseDelayMs'),
      maxDelayMs: nonNegative(options.retry?.maxDelayMs, DEFAULTS.retry.maxDelayMs, 'retry.maxDelayMs'),
    },
    timeoutMs: nonNegative(options.timeoutMs, DEFAULTS.timeoutMs, 'timeoutMs'),
    maxBatchBytes: nonNegative(options.maxBatchBytes, DEFAULTS.maxBatchBytes, 'maxBatchBytes'),
    onError: options.onError ?? (() => {}),
  };
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new TypeError(`createClient: ${name} must be a number ≥ 0, got ${String(value)}`);
  }
  return value;
}
