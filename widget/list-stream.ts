/**
 * `<live-operation-list>`'s live stream: the list URL asked with
 * `Accept: application/x-ndjson`, which the server answers with a line per
 * listed session and then one for every session as it appears, changes and
 * ends — no polling. It drives the protocol's one `StreamFollower` (the
 * policy `<live-operation>`, `watch()` and `liveop watch` follow too): it
 * reconnects at once on a `reconnect` line, after the follower's backoff
 * (never sooner than `Retry-After`) when the connection breaks off or goes
 * silent, and stops when the URL cannot stream — refused, or answered with
 * something other than a stream (a backend that only passes JSON on) — so
 * the list falls back to refreshing. No fetch or timer outlives `close()`.
 */
import {
  type FollowAction,
  readNdjson,
  type SessionLine,
  type Snapshot,
  StreamFollower,
  type StreamLine,
} from '../protocol/index.ts';
import type { Fetch } from './shared-connection.ts';

/** A heartbeat comes every 15 s: this much silence means the connection died. */
const SILENCE_MS = 45_000;

export interface ListStreamCallbacks {
  /** A session's snapshot: listed, new, changed or ended. */
  snapshot(snapshot: Snapshot): void;
  /** A listed session was deleted or expired. */
  gone(id: string): void;
  /** A connection after the first is open: what happened while none was may have been missed. */
  resumed(): void;
  /** The URL does not stream (refused, or answered with no stream): the list must refresh by itself. */
  unavailable(reason: string): void;
}

export class ListStream {
  readonly #follower = new StreamFollower({ firstLineMs: null, silenceMs: SILENCE_MS });
  readonly #abort = new AbortController();
  #timer?: ReturnType<typeof setTimeout>;
  #connections = 0;

  constructor(
    readonly url: string,
    readonly fetch: Fetch,
    /** Each connection's headers, read as it opens (a renewed token is used from the next one on). */
    readonly headers: () => Record<string, string>,
    readonly callbacks: ListStreamCallbacks,
  ) {
    this.#connect();
  }

  /** Stops for good: the connection is aborted, any wait cleared. */
  close(): void {
    this.#abort.abort();
    clearTimeout(this.#timer);
  }

  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  async #connect(): Promise<void> {
    if (this.closed) return;
    const connection = new AbortController();
    const stop = () => connection.abort();
    this.#abort.signal.addEventListener('abort', stop, { once: true });
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    let silent = false;
    const arm = (ms: number) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        silent = true;
        connection.abort();
      }, ms);
    };
    // A list stream carries no cursor: each connection lists afresh.
    arm(this.#follower.opened(false));
    let next: FollowAction | undefined;
    try {
      const response = await this.fetch(this.url, {
        signal: connection.signal,
        cache: 'no-store',
        headers: { ...this.headers(), Accept: 'application/x-ndjson' },
      });
      if (!response.ok) {
        next = this.#follower.refused(response.status, response.headers.get('retry-after'), Date.now());
      } else if (!/ndjson/i.test(response.headers.get('content-type') ?? '') || !response.body) {
        // A backend that answers the list as JSON whatever it is asked: nothing to follow.
        next = { type: 'stop', reason: 'the list URL does not stream', status: response.status };
      } else {
        if (this.#connections++ > 0) this.callbacks.resumed();
        for await (const line of readNdjson<StreamLine>(response.body)) {
          arm(this.#follower.heard());
          if (line.type === 'reconnect') {
            next = this.#follower.dropped('reconnect');
            break;
          }
          this.#line(line);
        }
      }
    } catch {
      // the network failed or the connection was aborted: below
    } finally {
      clearTimeout(watchdog);
      connection.abort();
      this.#abort.signal.removeEventListener('abort', stop);
    }
    if (this.closed) return;
    next ??= this.#follower.dropped(silent ? 'silent' : 'error');
    if (next.type === 'stop') {
      this.close();
      this.callbacks.unavailable(next.reason);
    } else this.#timer = setTimeout(() => this.#connect(), next.type === 'wait' ? next.ms : 0);
  }

  #line(line: StreamLine): void {
    // Heartbeats, token and error lines, and types a newer server may add: nothing for a list row.
    if (line.type === 'snapshot') this.callbacks.snapshot(line);
    else if (line.type === 'gone') this.callbacks.gone((line as SessionLine).id);
  }
}
