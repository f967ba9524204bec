/**
 * One NDJSON connection per server, shared by every `<live-operation>` on the
 * page that watches a session there: one session streams from
 * `GET /sessions/:id/stream`, several from `GET /stream?session=A&session=B…`
 * (a token, `after` and `logAfter` per session, in the same order), so ten
 * bars never use up the browser's six HTTP/1.1 connections per origin.
 *
 * The connection reconnects with exponential backoff (never sooner than a
 * 429 or 503 answer's `Retry-After`) and resumes each session from its
 * cursors; it falls back to polling `GET /sessions/:id` when no line arrives
 * in time (a proxy buffering the stream) or the stream is refused.
 */

import type { SessionLine, StreamLine, TokenLine } from '../protocol/index.ts';
import {
  type FollowAction,
  NdjsonParseStream,
  parseRetryAfter,
  StreamFollower,
  sessionUrl,
  streamUrl,
  withToken,
} from '../protocol/index.ts';
import type { ConnectionState } from './events.ts';

export type Fetch = typeof fetch;

/** What a connection needs to know about one watched session. */
export interface Subscriber {
  readonly id: string;
  /** Renewed when the stream hands a fresh one (a `token` line). */
  token: string;
  /** Server base URL, without a trailing slash: `https://host` or `https://host/liveop`. */
  readonly base: string;
  /** Highest snapshot version received (0: none). */
  readonly after: number;
  /** Highest log seq received (0: none). */
  readonly logAfter: number;
  /** A snapshot, `gone`, `error` or `token` line for this session. */
  line(line: SessionLine | TokenLine): void;
  /** The server refused this session for good (HTTP status, and the error answer's code). */
  fail(status: number, code?: string): void;
  /**
   * The connection's state; `unreachable` while its last attempts got no
   * answer at all: the server is down or out of reach, or refused this
   * page's origin (CORS). A page cannot tell these apart.
   */
  state(state: ConnectionState, unreachable?: boolean): void;
}

/** Tunables, in milliseconds. */
export const timing = {
  /** No first line this soon on a fresh connection: a proxy buffers the stream, so poll instead. */
  firstLine: 4_000,
  /**
   * Silence (not even the 15 s heartbeat) after which a connection is presumed
   * dead; also the first-line limit of a resumed one, which the server may
   * rightly keep quiet until its heartbeat.
   */
  silence: 45_000,
  poll: 2_000,
  backoffMax: 30_000,
};

const connections = new WeakMap<Fetch, Map<string, SharedConnection>>();

/** Finds or opens the shared connection for a subscriber and adds it. */
export function subscribe(sub: Subscriber, fetcher: Fetch): SharedConnection {
  const byBase = connections.get(fetcher) ?? new Map<string, SharedConnection>();
  connections.set(fetcher, byBase);
  const base = sub.base;
  const connection = byBase.get(base) ?? new SharedConnection(fetcher, () => byBase.delete(base));
  byBase.set(base, connection);
  connection.add(sub);
  return connection;
}

export class SharedConnection {
  readonly #subs = new Set<Subscriber>();
  readonly #fetch: Fetch;
  /** Called when the last subscriber leaves. */
  readonly #onEmpty: () => void;
  #abort?: AbortController;
  #timer?: ReturnType<typeof setTimeout>;
  /** When to try again, poll, or read on: the protocol's one follower, as the client and the CLI use it. */
  readonly #follower = new StreamFollower({
    firstLineMs: timing.firstLine,
    silenceMs: timing.silence,
    maxDelayMs: timing.backoffMax,
  });
  /** Attempts in a row that got no answer (not even an error status). */
  #unanswered = 0;
  #polling?: boolean;

  constructor(fetcher: Fetch, onEmpty: () => void) {
    this.#fetch = fetcher;
    this.#onEmpty = onEmpty;
  }

  add(sub: Subscriber): void {
    this.#subs.add(sub);
    this.#schedule(0);
  }

  /**
   * Removes a subscriber. A session that ended needs no new connection (the
   * server has stopped sending it); one whose element left does, so the
   * server stops streaming it.
   */
  remove(sub: Subscriber, reopen: boolean): void {
    if (!this.#subs.delete(sub)) return;
    if (!this.#subs.size) {
      this.#abort?.abort();
      this.#abort = undefined;
      clearTimeout(this.#timer);
      this.#onEmpty();
    } else if (reopen) this.#schedule(0);
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#open(), ms);
  }

  /** Tells every subscriber the state, and `unreachable` once three attempts in a row got no answer. */
  #state(state: ConnectionState): void {
    for (const sub of this.#subs) sub.state(state, this.#unanswered >= 3);
  }

  #url(subs: Subscriber[]): string {
    // Every list in the same order as `session`: all of one, or none; tokens in the URL (a stream has no other way).
    return String(
      streamUrl(
        subs[0]!.base,
        subs.map((sub) => ({ id: sub.id, token: sub.token, cursor: sub })),
        true,
      ),
    );
  }

  async #open(): Promise<void> {
    this.#abort?.abort();
    const subs = [...this.#subs];
    if (!subs.length) return;
    const abort = new AbortController();
    this.#abort = abort;
    const { signal } = abort;
    if (this.#polling) return this.#poll(subs, signal);
    const follower = this.#follower;
    this.#state(follower.failures ? 'reconnecting' : 'connecting');
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    let received = false;
    const arm = (ms: number) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => abort.abort('silent'), ms);
    };
    arm(follower.opened(subs.some((s) => s.after)));
    let response: Response | undefined;
    let next: FollowAction | undefined;
    try {
      response = await this.#fetch(this.#url(subs), { signal });
      this.#unanswered = 0;
      if (!response.ok) {
        // Refused (bad token, unknown session, no multiplexing here): polling sorts it out per session.
        next = follower.refused(response.status, response.headers.get('retry-after'), Date.now());
      } else if (response.body) {
        // (A success without a body, a proxy's 204 say, is a stream that broke off: see below.)
        const reader = response.body
          .pipeThrough(new TextDecoderStream())
          .pipeThrough(new NdjsonParseStream<StreamLine>())
          .getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          // `reconnect`: the server is going away; come back (to any instance) at once.
          if (value.type === 'reconnect') {
            next = follower.dropped('reconnect');
            break;
          }
          if (!received) this.#state('live');
          received = true;
          arm(follower.heard());
          // Lines of types this element does not know (from a newer server) are skipped.
          if (/^(snapshot|gone|error|token)$/.test(value.type)) this.#route(subs, value as SessionLine | TokenLine);
        }
      }
    } catch {
      if (!response && !signal.aborted) this.#unanswered++;
    }
    clearTimeout(watchdog);
    // Unless superseded or stopped: as the follower says (poll, reconnect now, or after its backoff and any Retry-After).
    if (this.#abort === abort) {
      next ??= follower.dropped(signal.reason === 'silent' ? 'silent' : 'error');
      this.#polling = next.type === 'poll';
      if (!this.#polling) this.#state('reconnecting');
      this.#schedule(next.type === 'wait' ? next.ms : 0);
    }
  }

  #route(subs: Subscriber[], line: SessionLine | TokenLine): void {
    for (const sub of subs) if (sub.id === line.id && this.#subs.has(sub)) sub.line(line);
  }

  async #poll(subs: Subscriber[], signal: AbortSignal): Promise<void> {
    this.#state('polling');
    const round = { subs, listening: this.#subs, fetch: this.#fetch, signal, wait: timing.poll };
    const wait = await import('./poll.ts').then(
      ({ poll }) => poll(round, { sessionUrl, withToken, parseRetryAfter }),
      // The chunk did not load (offline): try again next round.
      () => timing.poll,
    );
    if (this.#abort?.signal === signal) this.#schedule(wait);
  }
}
