/**
 * How a client follows a session's stream, decided once: `<live-operation>`,
 * `liveop/client`'s `watch()` and `liveop watch` all drive these two pure
 * pieces and only do the I/O themselves.
 *
 * - `StreamFollower` is the connection's policy: which answers are worth
 *   trying again, how long to wait before the next attempt (exponential
 *   backoff with jitter, never sooner than the server's `Retry-After`), how
 *   long a connection may stay silent before it is presumed dead, when to give
 *   up, and when a stream is better polled.
 * - `SessionCursor` is one session's place in its stream: the resume cursor
 *   (`after`, `logAfter`), each log line delivered once, a snapshot never older
 *   than one already had, and where a finished session goes next.
 *
 * No timers, no fetch: a driver asks what to do and does it; the clock and
 * the randomness come in as arguments, so every rule is tested in Node with
 * plain numbers.
 */
import { outputsAfter } from './outputs.ts';
import { isTerminal, type Snapshot } from './wire.ts';

export interface FollowPolicy {
  /** The first wait's upper bound; it doubles with each attempt in a row that failed. @default 500 */
  baseDelayMs: number;
  /** The longest wait between attempts. @default 30000 */
  maxDelayMs: number;
  /** Attempts in a row without a line before giving up. @default Infinity */
  attempts: number;
  /**
   * A fresh connection (no cursor yet) with no first line this soon is
   * presumed buffered by a proxy: the driver should poll instead. `null`: the
   * driver cannot poll, and `silenceMs` applies from the start. @default null
   */
  firstLineMs: number | null;
  /** Silence after which a connection is presumed dead (the server sends a heartbeat every 15 s). @default 45000 */
  silenceMs: number;
  /** The longest `Retry-After` obeyed; a longer one is taken as this. @default 300000 */
  maxRetryAfterMs: number;
}

export const DEFAULT_FOLLOW_POLICY: FollowPolicy = {
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  attempts: Number.POSITIVE_INFINITY,
  firstLineMs: null,
  silenceMs: 45_000,
  maxRetryAfterMs: 300_000,
};

/** What a driver does next. */
export type FollowAction =
  /** Open the stream again now. */
  | { type: 'connect' }
  /** Open it again after `ms`. */
  | { type: 'wait'; ms: number }
  /** Stop streaming and read the snapshot instead, every `ms` (a refused or buffered stream). */
  | { type: 'poll'; ms: number }
  /** Stop: trying again will not help (`status` when the server said so). */
  | { type: 'stop'; reason: string; status: number | null };

/** Why a connection stopped before its session ended. */
export type DropCause =
  /** The network failed, or the stream broke off or ended early. */
  | 'error'
  /** No line within the watchdog's time (see `watchdogMs`). */
  | 'silent'
  /** The server is going away and said `reconnect`: come back (to any instance) at once. */
  | 'reconnect';

/** What an answer's status means for a follower: read it, try again later, or give up on it. */
export function classifyStatus(status: number): 'read' | 'retry' | 'refused' {
  if (status >= 200 && status < 300) return 'read';
  // Timeouts, rate limits and a server or proxy in trouble pass; the rest (bad token, gone) will not.
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retry';
  return 'refused';
}

/**
 * A `Retry-After` value — seconds, or an HTTP date — in milliseconds from
 * `now`, at most `mostMs`; null when there is none or it cannot be read.
 */
export function parseRetryAfter(value: string | null | undefined, now: number, mostMs = 300_000): number | null {
  const text = value?.trim();
  if (!text) return null;
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : (Date.parse(text) - now) / 1000;
  if (!Number.isFinite(seconds)) return null;
  return Math.min(Math.max(0, seconds * 1000), mostMs);
}

/**
 * One stream connection's policy across its attempts. A driver calls
 * `opened()` when it connects (and arms a watchdog for the answer), `heard()`
 * on every line, and `refused()` or `dropped()` when the connection ends
 * before its session did; each answers what to do next.
 */
export class StreamFollower {
  readonly policy: FollowPolicy;
  readonly #random: () => number;
  /** Attempts in a row that got no line. */
  #failures = 0;
  /** The current connection has had a line. */
  #heard = false;
  #resumed = false;

  constructor(policy: Partial<FollowPolicy> = {}, random: () => number = Math.random) {
    this.policy = { ...DEFAULT_FOLLOW_POLICY, ...policy };
    this.#random = random;
  }

  /** Attempts in a row that got no line (0 while a connection is live). */
  get failures(): number {
    return this.#failures;
  }

  /**
   * A connection is being opened; `resumed`: it carries a cursor (the server
   * may rightly stay quiet until its heartbeat). Answers how long to wait for
   * the first line before `dropped('silent')`.
   */
  opened(resumed: boolean): number {
    this.#heard = false;
    this.#resumed = resumed;
    const { firstLineMs, silenceMs } = this.policy;
    return firstLineMs === null || resumed ? silenceMs : firstLineMs;
  }

  /** A line arrived: the connection lives. Answers the watchdog's new time. */
  heard(): number {
    this.#heard = true;
    this.#failures = 0;
    return this.policy.silenceMs;
  }

  /** The server answered `status` (not 2xx), with its `Retry-After` header if any. */
  refused(status: number, retryAfter: string | null, now: number): FollowAction {
    if (classifyStatus(status) === 'refused') {
      // A poll can still sort it out per session (one bad token of many) when the driver can poll.
      if (this.policy.firstLineMs !== null) return { type: 'poll', ms: 0 };
      return { type: 'stop', reason: `the server answered ${status}`, status };
    }
    return this.#again(`the server answered ${status}`, parseRetryAfter(retryAfter, now, this.policy.maxRetryAfterMs));
  }

  /** The connection ended before its session did. */
  dropped(cause: DropCause): FollowAction {
    if (cause === 'reconnect') {
      this.#failures = 0;
      return { type: 'connect' };
    }
    // Nothing at all on a fresh connection: a proxy holds the stream back.
    if (cause === 'silent' && !this.#heard && !this.#resumed && this.policy.firstLineMs !== null) {
      return { type: 'poll', ms: 0 };
    }
    return this.#again(cause === 'silent' ? 'the stream went silent' : 'the stream broke off', null);
  }

  /** The wait before attempt `failures + 1`, or giving up once `attempts` in a row got nothing. */
  #again(reason: string, retryAfterMs: number | null): FollowAction {
    if (this.#failures >= this.policy.attempts) return { type: 'stop', reason, status: null };
    const ms = Math.max(this.backoffMs(this.#failures), retryAfterMs ?? 0);
    this.#failures += 1;
    return { type: 'wait', ms };
  }

  /** The wait before retry number `retry` under this policy (see `backoffMs`). */
  backoffMs(retry: number): number {
    return backoffMs(retry, this.policy, this.#random);
  }
}

/**
 * The wait before retry number `retry` (0 for the first): between half and
 * all of `min(maxDelayMs, baseDelayMs · 2^retry)` — jittered so clients that
 * failed together do not come back together, and never so short that a
 * server that just went down is hammered.
 */
export function backoffMs(
  retry: number,
  policy: Pick<FollowPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retry, 30));
  return bound * (0.5 + random() / 2);
}

/** A resume cursor: the highest snapshot version and log sequence number a client has. */
export interface Cursor {
  after: number;
  logAfter: number;
}

/**
 * One session's place in its stream. `accept()` takes each snapshot line as
 * it comes and answers what to show: nothing for a version older than one
 * already had (a resumed stream may repeat), else the snapshot with only the
 * log lines and output text not delivered before.
 */
export class SessionCursor implements Cursor {
  after = 0;
  logAfter = 0;
  /** Each output stream's end as delivered so far. */
  readonly outputEnds: Record<string, number> = {};
  /** The last snapshot accepted. */
  last: Snapshot | null = null;

  constructor(start: Partial<Cursor> = {}) {
    this.after = start.after ?? 0;
    this.logAfter = start.logAfter ?? 0;
  }

  /** Whether anything was received yet (a connection then carries the cursor). */
  get started(): boolean {
    return this.after > 0 || this.logAfter > 0;
  }

  accept(snapshot: Snapshot): Snapshot | null {
    if (this.last !== null && snapshot.version < this.after) return null;
    this.after = Math.max(this.after, snapshot.version);
    const logs = snapshot.logs.filter((entry) => entry.seq > this.logAfter);
    for (const entry of logs) this.logAfter = Math.max(this.logAfter, entry.seq);
    let fresh = logs.length === snapshot.logs.length ? snapshot : { ...snapshot, logs };
    if (snapshot.outputs !== undefined) {
      const { outputs: _, ...rest } = fresh;
      const outputs = outputsAfter(this.outputEnds, snapshot.outputs);
      fresh = outputs === undefined ? rest : { ...rest, outputs };
    }
    this.last = fresh;
    return fresh;
  }

  /** The session has ended: its last snapshot is terminal. */
  get ended(): boolean {
    return this.last !== null && isTerminal(this.last.status);
  }
}
