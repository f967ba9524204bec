/**
 * A session's snapshots over its NDJSON stream, as an async iterator that
 * outlives dropped connections: it reconnects with `?after=<version>&logAfter=<seq>`
 * (so no change is lost and no log line comes twice), reconnects at once on a
 * `reconnect` line, and ends after the terminal snapshot. A `gone` or `error`
 * line throws.
 */
import {
  readNdjson,
  SessionCursor,
  type Snapshot,
  StreamFollower,
  type StreamLine,
  withCursor,
} from '../protocol/index.ts';
import { sleep } from './backoff.ts';
import { errorFromResponse, LiveopClientError, networkError } from './errors.ts';
import type { ResolvedOptions } from './options.ts';

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
  const follower = new StreamFollower({
    attempts: options.retry.attempts,
    baseDelayMs: options.retry.baseDelayMs,
    maxDelayMs: options.retry.maxDelayMs,
  });
  const cursor = new SessionCursor();
  while (!signal?.aborted) {
    const connection = new AbortController();
    const abort = () => connection.abort(signal?.reason);
    signal?.addEventListener('abort', abort, { once: true });
    let silence: ReturnType<typeof setTimeout> | undefined;
    let silent = false;
    const listen = (ms: number) => {
      clearTimeout(silence);
      silence = setTimeout(() => {
        silent = true;
        connection.abort(new Error(`no line for ${ms / 1000} s`));
      }, ms);
    };
    let next: ReturnType<StreamFollower['dropped']> | null = null;
    let problem: unknown = null;
    try {
      listen(follower.opened(cursor.started));
      const url = withCursor(context.streamUrl, cursor.started ? cursor : null);
      const headers: Record<string, string> = { Accept: 'application/x-ndjson' };
      if (context.credential) headers.Authorization = `Bearer ${context.credential}`;
      const response = await options.fetch(url, { headers, signal: connection.signal });
      if (!response.ok || !response.body) {
        const error = await errorFromResponse(response);
        next = follower.refused(response.status, response.headers.get('retry-after'), Date.now());
        // Not found, not allowed, bad cursor: trying again will not help.
        if (response.ok || next.type === 'stop') throw error;
        problem = error;
      } else {
        for await (const line of readNdjson<StreamLine>(response.body)) {
          listen(follower.heard());
          if (line.type === 'snapshot') {
            const snapshot = cursor.accept(line);
            if (snapshot === null) continue;
            context.seen(snapshot);
            clearTimeout(silence); // the consumer may take its time
            yield snapshot;
            if (cursor.ended) return;
            listen(follower.heard());
          } else if (line.type === 'reconnect') {
            next = follower.dropped('reconnect');
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
    // The stream ended (or broke off) before the terminal snapshot: resume, as the follower says.
    next ??= follower.dropped(silent ? 'silent' : 'error');
    if (next.type === 'stop') {
      problem ??= new Error(next.reason);
      throw problem instanceof LiveopClientError ? problem : networkError(`GET ${url(context)}`, problem);
    }
    if (next.type === 'wait') await sleep(next.ms, signal);
  }
}

const url = (context: WatchContext) => new URL(context.streamUrl).pathname;
