/**
 * What the server needs of a store, whatever holds the sessions. One
 * contract test suite (test/server/store/contract.ts) runs against every
 * implementation.
 */
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { LiveopError } from '../core/errors.ts';
import type { StoredSession } from '../core/model.ts';

/** A change, as every server instance hears of it. */
export interface StoreChange {
  id: string;
  version: number;
  /** Lets in-process runners hear of a cancel without reading the session. */
  cancelRequested: boolean;
  /** The session was deleted (its streams end with `gone`). */
  deleted?: boolean;
  /** The new state, when the store has it in hand (same process): saves a read. */
  session?: StoredSession;
}

export interface ListOptions {
  /** Only this owner's sessions; `undefined` lists every owner's (admin). */
  owner?: string | null;
  /** Only this parent's children (from an index of its own: no other session is read). */
  parent?: string;
  limit: number;
  cursor?: string | null;
  /** Only sessions this keeps (a status, a title search); the page is still `limit` long when enough match. */
  filter?: (session: StoredSession) => boolean;
  /**
   * With a filter: read at most this many sessions for one page. Past it the
   * page is shorter than `limit` (even empty) and its cursor goes on from the
   * last session read, so a filter that matches little costs every call the
   * same bounded work. @default unbounded
   */
  readMost?: number;
}

export interface SessionPage {
  sessions: StoredSession[];
  /** Pass back as `cursor` for the next page; null on the last one. */
  cursor: string | null;
}

/** Makes a rate limiter counting where the store keeps its data (rate-limiter-flexible). */
export type RateLimiterFactory = (options: {
  keyPrefix: string;
  points: number;
  duration: number;
}) => RateLimiterAbstract;

export interface SessionStore {
  /** The session, or undefined when unknown or expired. Never deletes anything. */
  get(id: string): Promise<StoredSession | undefined>;
  /** Stores a new session (its id must be fresh). */
  create(session: StoredSession): Promise<void>;
  /**
   * Reads, changes and writes one session so that no concurrent update is
   * lost (per-session serialised, or compare-and-set). `change` may throw to
   * refuse: then nothing is written. Returning the same object writes nothing.
   * Rejects with `SessionNotFound` when the session does not exist.
   */
  update(id: string, change: (session: StoredSession) => StoredSession): Promise<StoredSession>;
  /** Removes it; true when it existed. */
  delete(id: string): Promise<boolean>;
  /** Sessions newest first. */
  list(options: ListOptions): Promise<SessionPage>;
  /**
   * Hears every change (from any instance sharing the store). Returns the
   * unsubscribe. Notifications may be lost (Redis pub/sub is at-most-once):
   * `onResync` is called when the store may have missed some (e.g. after its
   * subscription reconnected), and listeners then re-read what they watch.
   */
  subscribe(listener: (change: StoreChange) => void, onResync?: () => void): () => void;
  /**
   * How many sessions `owner` holds now (until they expire; an approximation
   * is fine): what the sessions-per-owner cap counts. Left out: no cap.
   */
  countOwned?(owner: string | null): Promise<number>;
  /**
   * Removes every session created more than `maxAgeMs` ago, whatever its TTL
   * (its streams hear it was deleted); answers how many. Both stores have it.
   */
  purge?(maxAgeMs?: number): Promise<number>;
  /** Rate limiters shared by every instance on this store; left out: each instance counts alone. */
  rateLimiter?: RateLimiterFactory;
  /** Resolves when the store answers; rejects when it does not. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class SessionNotFound extends LiveopError {
  constructor(readonly id: string) {
    super('not_found', `unknown session "${id}"`);
    this.name = 'SessionNotFound';
  }
}

/** The store cannot be reached: answered with 503, and nothing was written. */
export class StoreUnavailable extends LiveopError {
  constructor(cause?: unknown) {
    super('unavailable', 'the session store is unavailable', { cause, retryAfterSeconds: 2 });
    this.name = 'StoreUnavailable';
  }
}
