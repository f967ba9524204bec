/**
 * The element's link to the server, as a Lit `ReactiveController`: it watches
 * the session its host names (read before each update) through the page's
 * shared connection (see `shared-connection.ts`), keeps the resume cursors,
 * sends the cancel request, and lets go of everything in `hostDisconnected` —
 * no fetch or timer outlives the element.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { isTerminal, type SessionLine, sessionActionUrl, type TokenLine, withToken } from '../protocol/index.ts';
import type { ConnectionState } from './events.ts';
import { type Fetch, type SharedConnection, type Subscriber, subscribe } from './shared-connection.ts';

/** Where a session lives. */
export interface StreamSource {
  id: string;
  token: string;
  /** Server base URL without a trailing slash: `https://host` or `https://host/liveop`. */
  base: string;
}

export interface StreamCallbacks {
  /**
   * The session the host wants watched, read before each update: a new value
   * (by identity) is watched from its beginning.
   */
  source?(): StreamSource | null;
  line(line: SessionLine): void;
  /** The server refused the session for good (HTTP status, and the error answer's code). */
  fail(status: number, code?: string): void;
  /** See `Subscriber.state`. */
  state(state: ConnectionState, unreachable?: boolean): void;
}

/** Whether a session has ended (the protocol's `isTerminal`). */
export const terminal = isTerminal;

/**
 * Reads a session's stream (or snapshot) URL, `…/sessions/ID/stream`, into a
 * source; a `?token=` in it is used when no token is given. Null for any
 * other shape.
 */
export function sourceFromUrl(src: string, token: string, pageUrl: string): StreamSource | null {
  const url = new URL(src, pageUrl);
  const match = /^(.*)\/sessions\/([^/]+)(\/stream)?\/?$/.exec(url.pathname);
  return (
    match && {
      id: decodeURIComponent(match[2]!),
      token: token || url.searchParams.get('token') || '',
      base: url.origin + match[1],
    }
  );
}

/** One function for every element, so that they share connections (which are kept per `fetch`). */
const pageFetch: Fetch = (input, init) => globalThis.fetch(input, init);

export class StreamController implements ReactiveController, Subscriber {
  /**
   * The `fetch` used for every request; replace it (before the element
   * connects) to add headers, log, or test. Elements share a connection only
   * when they use the same `fetch`.
   */
  fetch: Fetch = pageFetch;
  id = '';
  token = '';
  base = '';
  after = 0;
  logAfter = 0;
  #connection?: SharedConnection;
  #source?: StreamSource | null;
  #connected?: boolean;
  /** The session ended (terminal, gone or refused): nothing more to fetch. */
  #done?: boolean;
  #requests = new AbortController();

  constructor(
    host: ReactiveControllerHost,
    readonly callbacks: StreamCallbacks,
  ) {
    host.addController(this);
  }

  /** Watches another session (or none), from its beginning. */
  watch(source: StreamSource | null): void {
    this.#leave(true);
    Object.assign(this, source ?? { id: '' });
    this.after = this.logAfter = 0;
    this.#done = false;
    this.#join();
  }

  hostUpdate(): void {
    const source = this.callbacks.source?.();
    if (source !== undefined && source !== this.#source) {
      this.#source = source;
      this.watch(source);
    }
  }

  hostConnected(): void {
    this.#connected = true;
    this.#join();
  }

  hostDisconnected(): void {
    this.#connected = false;
    this.#leave(true);
    this.#requests.abort();
    this.#requests = new AbortController();
  }

  #join(): void {
    if (this.#connected && !this.#connection && !this.#done && this.id) this.#connection = subscribe(this, this.fetch);
  }

  #leave(reopen: boolean, done?: boolean): void {
    this.#done ||= done;
    if (this.#connection) {
      this.#connection.remove(this, reopen);
      this.#connection = undefined;
      this.callbacks.state('closed');
    }
  }

  line(line: SessionLine | TokenLine): void {
    // A fresh token for a stream that outlives the one it was opened with.
    if (line.type === 'token') {
      this.token = line.token;
      return;
    }
    if (line.type === 'snapshot') {
      if (line.version < this.after) return; // an older poll answer overtaken by a stream line
      this.after = line.version;
      this.logAfter = line.logs.at(-1)?.seq ?? this.logAfter; // (in seq order)
    }
    if (line.type !== 'snapshot' || terminal(line.status)) this.#leave(false, true);
    this.callbacks.line(line);
  }

  fail(status: number, code?: string): void {
    this.#leave(false, true);
    this.callbacks.fail(status, code);
  }

  state(state: ConnectionState, unreachable?: boolean): void {
    this.callbacks.state(state, unreachable);
  }

  /** Asks the server to cancel the session (`POST …/cancel`, answered 202). */
  cancel(): Promise<Response> {
    return this.fetch(withToken(sessionActionUrl(this.base, this.id, 'cancel'), this.token), {
      method: 'POST',
      signal: this.#requests.signal,
    });
  }
}
