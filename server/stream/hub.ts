/**
 * Fans session changes out to subscriptions — an HTTP stream, or an
 * in-process watch — as line objects. How lines are framed and written
 * (NDJSON, SSE, a web stream, a Node response) is the transport's business
 * (server/http/stream-response.ts); the hub decides only *what* each
 * subscription gets next.
 *
 * - Each session has one Watcher per instance (watcher.ts), which makes a
 *   generation — one shared line — per visible change, JSON-encoded once.
 * - A subscription pulls: `take()` returns everything pending at once. A
 *   subscription that is caught up gets the generation itself (its JSON and
 *   framed bytes shared with every other caught-up one); one that fell behind
 *   (slow reader, new, resuming) gets a line of its own from the latest state
 *   with every log line and all the output it lacks. So a slow reader holds a
 *   flag, not a queue, gets the newest state, and never loses or repeats either.
 * - One hub-wide interval marks heartbeats due after `heartbeatMs` of
 *   silence; there are no per-subscription timers.
 * - One clock, injected, for everything.
 */

import type { StreamLine } from '../../protocol/index.ts';
import { outputEndsAtVersion } from '../core/outputs.ts';
import { logSeqAtVersion } from '../core/snapshot.ts';
import type { SessionStore } from '../store/session-store.ts';
import { type Generation, NO_OUTPUTS, sameOutputEnds, Watcher, type WatcherContext } from './watcher.ts';

export interface StreamHubOptions {
  store: SessionStore;
  now?: () => number;
  /** At most this many lines a second per session. @default 10 */
  throttleHz?: number;
  /** A heartbeat line after this much silence. @default 15000 */
  heartbeatMs?: number;
  /** Told once per session that cannot be served (its stored data breaks the limits). */
  onBroken?: (id: string, error: unknown) => void;
}

/** Where a subscriber resumes one session. */
export interface Cursor {
  /** The last version the client has (its log cursor is derived from it). */
  after?: number;
  /** The last log seq the client has (wins over `after`'s). */
  logAfter?: number;
}

/**
 * One line for a subscription. `json` is the line's JSON (made once, in the
 * hub); `shared`, when set, is the generation the line is — transports cache
 * its framed bytes there, so one encoding serves every caught-up connection.
 */
export interface HubLine {
  line: StreamLine;
  json: string;
  /** Where the line's framed bytes are kept when several connections send it (null: this one only). */
  shared: { readonly framed: Record<string, Uint8Array> } | null;
}

const HEARTBEAT: HubLine = { line: { type: 'heartbeat' }, json: '{"type":"heartbeat"}', shared: null };
const RECONNECT: HubLine = { line: { type: 'reconnect' }, json: '{"type":"reconnect"}', shared: null };

const own = (line: StreamLine): HubLine => ({ line, json: JSON.stringify(line), shared: null });

/** What one subscription knows of one session. */
interface SessionState {
  watcher: Watcher;
  /** Last log seq this subscription has received. */
  logSeq: number;
  /** Last version this subscription has (from its cursor, then from what it received). */
  after: number;
  /** Each output stream's end as this subscription has received it. */
  outputs: Readonly<Record<string, number>>;
  /** The generation it last received (null: none yet). */
  generation: Generation | null;
  done: boolean;
}

/** One subscriber's view of one or more sessions. */
export class Subscription {
  readonly sessions = new Map<string, SessionState>();
  /** When a line was last taken (the hub's clock): heartbeats count from here. */
  lastTakenAt: number;
  #heartbeatDue = false;
  #closing = false;
  #closed = false;
  #onPending: () => void = () => {};
  /** Lines made for this subscription alone (token renewals), sent before the rest. */
  readonly #own: HubLine[] = [];
  /** When to make such a line, and how (the hub's interval checks). */
  readonly #timed: { at: number; make: () => { line: StreamLine; next: number | null } }[] = [];
  readonly #closeListeners: (() => void)[] = [];

  constructor(
    private readonly hub: StreamHub,
    now: number,
  ) {
    this.lastTakenAt = now;
  }

  /** Called (synchronously, from the hub) whenever `take()` may have something new. */
  set onPending(listener: () => void) {
    this.#onPending = listener;
  }

  /** A list's stream: sessions join as they appear, so it is not done when those it has ended. */
  live = false;

  /** True once every session has ended (or the hub is shutting down): nothing more will come after what take() returns. */
  get done(): boolean {
    if (this.#closing || this.#closed) return true;
    if (this.#own.length > 0 || this.live) return false;
    for (const state of this.sessions.values()) if (!state.done) return false;
    return true;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Everything pending, in session order (empty when nothing is). */
  take(): HubLine[] {
    if (this.#closed) return [];
    if (this.#closing) {
      this.#closing = false;
      this.close();
      return [RECONNECT];
    }
    // Called for every connection on every change: no allocation but the array.
    const lines: HubLine[] = this.#own.length > 0 ? this.#own.splice(0) : [];
    for (const state of this.sessions.values()) {
      if (state.done) continue;
      const line = this.#next(state);
      if (line !== null) lines.push(line);
    }
    if (lines.length === 0 && this.#heartbeatDue) lines.push(HEARTBEAT);
    this.#heartbeatDue = false;
    if (lines.length > 0) this.lastTakenAt = this.hub.now();
    return lines;
  }

  /** The subscriber went away (or has read the end): releases everything it held. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.hub.release(this);
    for (const listener of this.#closeListeners) listener();
    this.#closeListeners.length = 0;
  }

  /** Calls `listener` once, when the subscription closes (whoever closes it). */
  onClosed(listener: () => void): void {
    if (this.#closed) listener();
    else this.#closeListeners.push(listener);
  }

  /** @internal */
  notify(): void {
    if (!this.#closed) this.#onPending();
  }

  /**
   * Makes a line of this subscription's own at `at` (the hub's clock), and
   * again at the `next` the maker answers (null: no more). Checked with the
   * heartbeats, so within a second of `at`.
   */
  at(at: number, make: () => { line: StreamLine; next: number | null }): void {
    this.#timed.push({ at, make });
  }

  /** @internal Makes the timed lines that are due. */
  tick(now: number): void {
    for (const timed of this.#timed) {
      if (timed.at > now) continue;
      const { line, next } = timed.make();
      this.#own.push(own(line));
      timed.at = next ?? Number.POSITIVE_INFINITY;
      this.notify();
    }
  }

  /** @internal */
  heartbeat(): void {
    this.#heartbeatDue = true;
    this.notify();
  }

  /** @internal The hub shuts down: the next take() says reconnect, and ends. */
  shutdown(): void {
    this.#closing = true;
    this.notify();
  }

  #next(state: SessionState): HubLine | null {
    const { watcher } = state;
    if (watcher.gone) {
      state.done = true;
      return own({ type: 'gone', id: watcher.id });
    }
    if (watcher.broken !== null) {
      state.done = true;
      return own(watcher.broken);
    }
    const generation = watcher.generation;
    if (generation === null || generation === state.generation) return null;
    // Older than what the client has (it resumed here from an instance that heard of a change first):
    // sending it would take its version back and, from its older log cursor, repeat log lines.
    if (generation.snapshot.version < state.after || generation.snapshot.logSeq < state.logSeq) return null;
    let line: HubLine;
    if (generation.logBase === state.logSeq && sameOutputEnds(generation.outputBase, state.outputs)) {
      line = generation;
    } else {
      // Behind (or new): a line with every log line and all the output it
      // lacks, shared by the connections behind at the same cursor — many
      // readers that stalled together (a burst of new viewers, a network
      // hiccup) cost one line, not one each.
      try {
        line = watcher.catchUp(generation, state.logSeq, state.outputs);
      } catch (error) {
        watcher.fail(error);
        state.done = true;
        return own(watcher.broken!);
      }
    }
    state.generation = generation;
    state.logSeq = generation.snapshot.logSeq;
    state.after = generation.snapshot.version;
    state.outputs = generation.outputEnds;
    if (generation.final) state.done = true;
    return line;
  }
}

export class StreamHub {
  readonly #store: SessionStore;
  readonly #now: () => number;
  readonly #heartbeatMs: number;
  readonly #watchers = new Map<string, Watcher>();
  readonly #subscriptions = new Set<Subscription>();
  readonly #unsubscribe: () => void;
  readonly #context: WatcherContext;
  #heartbeat: NodeJS.Timeout | null = null;

  constructor(options: StreamHubOptions) {
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#heartbeatMs = options.heartbeatMs ?? 15_000;
    const onBroken = options.onBroken ?? (() => {});
    this.#context = {
      store: options.store,
      now: this.#now,
      intervalMs: 1000 / (options.throttleHz ?? 10),
      pending: (watcher) => {
        for (const subscription of watcher.subscriptions) (subscription as Subscription).notify();
      },
      broken: onBroken,
    };
    this.#unsubscribe = this.#store.subscribe(
      (change) => this.#watchers.get(change.id)?.changed(change),
      () => {
        // Notifications may have been missed: everyone re-reads what they watch.
        for (const watcher of this.#watchers.values()) void watcher.refresh();
      },
    );
  }

  now(): number {
    return this.#now();
  }

  /**
   * Subscribes to sessions (the caller has checked that the subscriber may
   * see them), each from its cursor. Resolves once the first lines can be
   * made: a session that does not exist gives a `gone` line at once.
   */
  async subscribe(sessions: ReadonlyMap<string, Cursor>): Promise<Subscription> {
    const subscription = new Subscription(this, this.#now());
    this.#subscriptions.add(subscription);
    this.#startHeartbeat();
    await this.join(subscription, sessions);
    return subscription;
  }

  /** Adds sessions to a subscription (a list's stream, as they appear), each from its cursor. */
  async join(subscription: Subscription, sessions: ReadonlyMap<string, Cursor>): Promise<void> {
    const ids = [...sessions.keys()].filter((id) => !subscription.sessions.has(id));
    for (const id of ids) {
      const watcher = this.#watch(id);
      watcher.subscriptions.add(subscription);
      subscription.sessions.set(id, {
        watcher,
        logSeq: 0,
        after: 0,
        outputs: NO_OUTPUTS,
        generation: null,
        done: false,
      });
    }
    await Promise.all(
      ids.map(async (id) => {
        const state = subscription.sessions.get(id)!;
        const { watcher } = state;
        const cursor = sessions.get(id)!;
        // A cursor past what this instance has seen: read the store rather than wait for the notification.
        const stale = (watcher.session?.version ?? 0) < (cursor.after ?? 0);
        if ((watcher.session === null || stale) && !watcher.gone) await watcher.refresh();
        const session = watcher.session;
        if (session === null) return; // gone: take() says so
        // Read from the store, the session is the truth: a cursor still past it (made up, or from a
        // write the store lost) gets the session as it is, not silence until it catches up.
        state.after = Math.min(cursor.after ?? 0, session.version);
        state.logSeq = Math.min(
          cursor.logAfter ?? (cursor.after === undefined ? 0 : logSeqAtVersion(session, cursor.after)),
          session.logSeq,
        );
        if (cursor.after !== undefined) state.outputs = outputEndsAtVersion(session, cursor.after);
        // The first line is made for this subscriber (its own log cursor).
        if (watcher.generation === null) watcher.schedule(0);
        else subscription.notify();
      }),
    );
  }

  /** Ends every subscription with a line telling clients to reconnect (elsewhere). */
  shutdown(): void {
    for (const subscription of this.#subscriptions) subscription.shutdown();
    this.#stopHeartbeat();
  }

  close(): void {
    this.shutdown();
    for (const subscription of [...this.#subscriptions]) subscription.close();
    this.#unsubscribe();
  }

  stats(): { watchers: number; connections: number } {
    return { watchers: this.#watchers.size, connections: this.#subscriptions.size };
  }

  /** @internal A subscription closed: forget it, and the watchers nobody needs any more. */
  release(subscription: Subscription): void {
    this.#subscriptions.delete(subscription);
    for (const [id, { watcher }] of subscription.sessions) {
      watcher.subscriptions.delete(subscription);
      if (watcher.subscriptions.size === 0 && this.#watchers.get(id) === watcher) {
        watcher.stop();
        this.#watchers.delete(id);
      }
    }
    if (this.#subscriptions.size === 0) this.#stopHeartbeat();
  }

  #watch(id: string): Watcher {
    let watcher = this.#watchers.get(id);
    if (!watcher) {
      watcher = new Watcher(id, this.#context);
      this.#watchers.set(id, watcher);
    }
    return watcher;
  }

  #startHeartbeat(): void {
    if (this.#heartbeat) return;
    const every = Math.max(50, Math.min(1_000, this.#heartbeatMs / 3));
    this.#heartbeat = setInterval(() => {
      const now = this.#now();
      const silentSince = now - this.#heartbeatMs;
      for (const subscription of this.#subscriptions) {
        subscription.tick(now);
        if (subscription.lastTakenAt <= silentSince) {
          subscription.lastTakenAt = this.#now();
          subscription.heartbeat();
        }
      }
    }, every);
    this.#heartbeat.unref();
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }
}
