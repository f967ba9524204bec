/**
 * A session's snapshots over its NDJSON stream, as an async iterator that
 * outlives dropped connections: it reconnects with `?after=<version>&logAfter=<seq>`
 * (so no change is lost and no log line comes twice), reconnects at once on a
 * `reconnect` line, and ends after the terminal snapshot. A `gone` or `error`
 * line throws.
 */
import { isTerminal, readNdjson, type Snapshot, type StreamLine } from '../protocol/index.ts';
import { backoffMs, retryAfterMs, sleep } from './backoff.ts';
import { errorFromResponse, LiveopClientError, networkError } from './errors.ts';
import type { ResolvedOptions } from './options.ts';

/** With no line at all for this long (the server sends a heartbeat every 15 s), the connection is presumed dead. */
const SILENCE_MS = 45_000;

export interface WatchOptions {
  /**
   * Stops watching: the iteration ends (without an error) and the connection is closed.
   *
   * @default undefined
   * @example
   * ```ts
   * for await (const snapshot of session.watch({ signal: AbortSignal.timeout(60_000) })) render(snapshot);
   * ```
   */
  signal?: AbortSignal;
}

export interface WatchContext {
  options: ResolvedOptions;
  streamUrl: string;
  credential: string | undefined;
  /** Every snapshot received, before it is yielded (the session watches for `cancelRequested`). */
  seen(snapshot: Snapshot): void;
}

export async function* watchStream(context: WatchContext, { signal }: WatchOptions = {}): AsyncGenerator<Snapshot> {
  const { options } = context;
  let after: number | undefined;
  let logAfter = 0;
  /** Connections in a row that ended without a snapshot. */
  let failures = 0;
  while (!signal?.aborted) {
    const connection = new AbortController();
    const abort = () => connection.abort(signal?.reason);
    signal?.addEventListener('abort', abort, { once: true });
    let silence: ReturnType<typeof setTimeout> | undefined;
    const listen = () => {
      clearTimeout(silence);
      silence = setTimeout(() => connection.abort(new Error(`no line for ${SILENCE_MS / 1000} s`)), SILENCE_MS);
    };
    let wait: number | null = null;
    let reconnectNow = false;
    let problem: unknown = null;
    try {
      listen();
      const url = new URL(context.streamUrl);
      if (after !== undefined) {
        url.searchParams.set('after', String(after));
        url.searchParams.set('logAfter', String(logAfter));
      }
      const headers: Record<string, string> = { Accept: 'application/x-ndjson' };
      if (context.credential) headers.Authorization = `Bearer ${context.credential}`;
      const response = await options.fetch(url, { headers, signal: connection.signal });
      if (!response.ok || !response.body) {
        wait = retryAfterMs(response);
        const error = await errorFromResponse(response);
        // Not found, not allowed, bad cursor: trying again will not help.
        if (response.ok || ![429, 502, 503, 504].includes(response.status)) throw error;
        problem = error;
      } else {
        for await (const line of readNdjson<StreamLine>(response.body)) {
          listen();
          if (line.type === 'snapshot') {
            if (after !== undefined && line.version < after) continue;
            failures = 0;
            after = line.version;
            const logs = line.logs.filter((entry) => entry.seq > logAfter);
            for (const entry of logs) logAfter = Math.max(logAfter, entry.seq);
            const snapshot = logs.length === line.logs.length ? line : { ...line, logs };
            context.seen(snapshot);
            clearTimeout(silence); // the consumer may take its time
            yield snapshot;
            if (isTerminal(snapshot.status)) return;
            listen();
          } else if (line.type === 'reconnect') {
            reconnectNow = true;
            break;
          } else if (line.type === 'gone') {
            throw new LiveopClientError(`session ${line.id} is gone (deleted or expired)`, {
              status: null,
              code: 'gone',
            });
          } else if (line.type === 'error') {
            throw new LiveopClientError(line.error.message, { status: null, code: line.error.code });
          }
          // heartbeats, and line types a newer server may add: nothing to do
        }
      }
    } catch (error) {
      if (signal?.aborted) return;
      if (error instanceof LiveopClientError) throw error;
      problem = error; // dropped: resume
    } finally {
      clearTimeout(silence);
      signal?.removeEventListener('abort', abort);
      connection.abort();
    }
    if (reconnectNow) continue;
    problem ??= new Error('the stream ended before the session did');
    // The stream ended (or broke off) before the terminal snapshot: resume.
    if (failures >= options.retry.attempts) {
      throw problem instanceof LiveopClientError ? problem : networkError(`GET ${url(context)}`, problem);
    }
    await sleep(backoffMs(failures, options.retry, wait), signal);
    failures++;
  }
}

const url = (context: WatchContext) => new URL(context.streamUrl).pathname;
