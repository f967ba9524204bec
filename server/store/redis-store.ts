/**
 * Sessions in Redis, shared by every server instance that uses the same
 * Redis and prefix: the SessionStore, wiring the parts.
 *
 * - Reads go through Keyv (keyv-format.ts). Writes are one Lua script each:
 *   compare-and-set on `version`, native expiry (`PX`), and the change
 *   published, all or nothing; a lost race is re-read and re-applied.
 * - Each instance hears every change on one subscription; its own come back
 *   with the session it wrote in hand (a read saved).
 * - The connections, failing fast while Redis is away and the resync once it
 *   is back: redis-connection.ts. Listing, expiry and purge: redis-index.ts.
 *
 * See docs/redis.md for the design and what happens when Redis goes away.
 */
import { randomUUID } from 'node:crypto';
import type { Keyv } from '@keyv/redis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { StoredSession } from '../core/model.ts';
import { retentionMs } from '../core/status.ts';
import { keepBounded } from './keep-bounded.ts';
import { keyvEnvelope, sessionKeyv } from './keyv-format.ts';
import { PerKeyQueue } from './per-key-queue.ts';
import { RedisConnection } from './redis-connection.ts';
import { RedisIndex } from './redis-index.ts';
import { type RedisKeys, redisKeys } from './redis-keys.ts';
import * as scripts from './redis-scripts.ts';
import {
  type ListOptions,
  type RateLimiterFactory,
  SessionNotFound,
  type SessionPage,
  type SessionStore,
  type StoreChange,
  StoreUnavailable,
} from './session-store.ts';

export interface RedisStoreOptions {
  /**
   * Where Redis is. Several comma-separated URLs name the root nodes of a
   * Redis Cluster.
   * @example 'redis://127.0.0.1:6379'
   * @example 'redis://10.0.0.1:7000,redis://10.0.0.2:7000'
   */
  url: string;
  /** Put before every key and the channel, so several apps share one Redis. @default 'liveop' */
  prefix?: string;
  /** The clock (tests pass their own). @default Date.now */
  now?: () => number;
  /** How long a command may take before it fails with `StoreUnavailable`. @default 1500 */
  commandTimeoutMs?: number;
  /** How long `connect()` waits for the first connection. @default 5000 */
  connectTimeoutMs?: number;
  /** How often expired listing-index entries are pruned (and, with `maxAgeMs`, old sessions purged). @default 60000 */
  purgeIntervalMs?: number;
  /**
   * When set, the periodic purge also removes sessions created longer ago
   * than this, even those still being written (django-user-tasks' max age).
   * @default undefined
   */
  maxAgeMs?: number;
  /** How many times a compare-and-set is retried when another instance wrote first. @default 50 */
  maxAttempts?: number;
  /** Where connection state changes are told (once per change, not per retry). @default console.warn */
  log?: (message: string) => void;
}

type Listener = (change: StoreChange) => void;

const PURGE_INTERVAL_MS = 60_000;
/** How many of its own writes an instance keeps in hand for its own notifications. */
const RECENT = 256;
/** Sessions whose last write by this instance is remembered as the next update's first guess. */
const WRITTEN_CACHE = 1_000;

export class RedisSessionStore implements SessionStore {
  /** Where this store keeps what (for operators and tests). */
  readonly keys: RedisKeys;
  readonly #connection: RedisConnection;
  readonly #index: RedisIndex;
  readonly #keyv: Keyv<StoredSession>;
  readonly #now: () => number;
  readonly #maxAttempts: number;
  /** How long a child's key outlives its own expiry, for the prune to keep it while its parent is kept. */
  readonly #holdMs: number;
  readonly #log: (message: string) => void;
  readonly #listeners = new Set<Listener>();
  /** One update at a time per session in this process (the compare-and-set handles other instances). */
  readonly #writing = new PerKeyQueue();
  /** Sessions this instance is writing or just wrote, until their notification is back (at most RECENT). */
  readonly #recent = new Map<string, StoredSession>();
  /** The last session this instance wrote, per id, until another instance writes it (at most WRITTEN_CACHE). */
  readonly #written = new Map<string, StoredSession>();
  /** Tells this instance's notifications from the others'. */
  readonly #instance = randomUUID();

  private constructor(connection: RedisConnection, keys: RedisKeys, options: RedisStoreOptions) {
    this.#connection = connection;
    this.#keyv = sessionKeyv(connection.client, keys.sessionNamespace);
    this.keys = keys;
    this.#now = options.now ?? Date.now;
    this.#maxAttempts = options.maxAttempts ?? 50;
    this.#log = options.log ?? ((message) => console.warn(message));
    const sessions = { read: (ids: string[]) => this.#keyv.getMany(ids), remove: (id: string) => this.#remove(id) };
    // A child's key outlives its entry by more than the entry's slack (≤ 60 s) and two prune rounds,
    // so the prune finds it while it is still there.
    this.#holdMs = 60_000 + 2 * (options.purgeIntervalMs ?? PURGE_INTERVAL_MS);
    this.#index = new RedisIndex(connection, keys, sessions, this.#now, this.#holdMs);
    // Redis may have lost what it held, or missed writes while we were away: guess nothing.
    // (Added before any subscriber's onResync, so it runs first.)
    connection.onResync(() => this.#written.clear());
  }

  /**
   * Connects (both the command and the subscriber connection) and subscribes.
   * Rejects with `StoreUnavailable` when Redis does not answer within
   * `connectTimeoutMs`.
   * @example
   * const store = await RedisSessionStore.connect({ url: process.env.REDIS_URL!, prefix: 'shop' });
   */
  static async connect(options: RedisStoreOptions): Promise<RedisSessionStore> {
    const keys = redisKeys(options.prefix ?? 'liveop');
    const connection = await RedisConnection.open({
      url: options.url,
      commandTimeoutMs: options.commandTimeoutMs ?? 1_500,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      log: options.log ?? ((message) => console.warn(message)),
    });
    const store = new RedisSessionStore(connection, keys, options);
    try {
      await connection.subscribe(keys.channel, (message) => store.#hear(message));
      store.#index.startPurging(options.purgeIntervalMs ?? PURGE_INTERVAL_MS, options.maxAgeMs);
      return store;
    } catch (error) {
      await store.close();
      throw error instanceof StoreUnavailable ? error : new StoreUnavailable(error);
    }
  }

  async get(id: string): Promise<StoredSession | undefined> {
    return this.#connection.run(() => this.#keyv.get(id));
  }

  async create(session: StoredSession): Promise<void> {
    const now = this.#now();
    const ttl = ttlOf(session, now);
    // Index first (sent together, in this order): an index entry without its session is skipped by
    // list() and pruned; a session without its entry would be missing from lists.
    const [, answer] = await Promise.all([
      this.#index.add(session, now + ttl),
      this.#write(session, '', this.#keyTtl(session, ttl)),
    ]);
    if (answer === scripts.EXISTS) throw new Error(`session "${session.id}" already exists`);
    if (answer !== scripts.WRITTEN) throw new Error(`unexpected answer ${answer} creating "${session.id}"`);
  }

  update(id: string, change: (session: StoredSession) => StoredSession): Promise<StoredSession> {
    return this.#writing.run(id, () => this.#update(id, change));
  }

  async delete(id: string): Promise<boolean> {
    const existed = await this.#connection.run(() => this.#remove(id));
    await this.#index.unindex([id]);
    return existed;
  }

  list(options: ListOptions): Promise<SessionPage> {
    return this.#index.list(options);
  }

  countOwned(owner: string | null): Promise<number> {
    return this.#index.countOwned(owner);
  }

  /**
   * Rate limiters counting in this Redis (rate-limiter-flexible's fixed
   * windows, one Lua call each), so limits hold across instances. While
   * Redis is away an in-memory count stands in (its insurance), so a blip
   * neither lifts every limit nor refuses every request.
   */
  readonly rateLimiter: RateLimiterFactory = ({ keyPrefix, points, duration }) =>
    new RateLimiterRedis({
      storeClient: this.#connection.client,
      useRedisPackage: true,
      rejectIfRedisNotReady: true,
      keyPrefix: `${this.keys.prefix}:${keyPrefix}`,
      points,
      duration,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
    });

  subscribe(listener: Listener, onResync?: () => void): () => void {
    this.#listeners.add(listener);
    const stopResync = onResync ? this.#connection.onResync(onResync) : undefined;
    return () => {
      this.#listeners.delete(listener);
      stopResync?.();
    };
  }

  async ping(): Promise<void> {
    await this.#connection.run(() => this.#connection.client.ping());
  }

  /**
   * Removes index entries of expired sessions, and — the max-age purge of
   * django-user-tasks — every session created more than `maxAgeMs` ago (its
   * streams hear it was deleted). Works in batches of 200 with a turn of the
   * event loop between them, so serving never waits on it. Answers how many
   * sessions it removed.
   * @example
   * await store.purge(7 * 24 * 3600_000); // nothing older than a week
   */
  purge(maxAgeMs?: number): Promise<number> {
    return this.#index.purge(maxAgeMs);
  }

  async close(): Promise<void> {
    if (this.#connection.closed) return;
    this.#listeners.clear();
    this.#recent.clear();
    this.#written.clear();
    // Work under way now fails fast (the connection refuses it); let it settle before the clients close.
    await this.#connection.close(async () => {
      await this.#index.close();
      await this.#writing.idle();
    });
  }

  // ------------------------------------------------------------------ writes

  async #update(id: string, change: (session: StoredSession) => StoredSession): Promise<StoredSession> {
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      // First try from what this instance last wrote (no read): the compare-and-set
      // refuses it if anyone wrote since, and then we read and re-apply.
      const cached = attempt === 1 ? this.#written.get(id) : undefined;
      const current = cached ?? (await this.get(id));
      if (current === undefined) throw new SessionNotFound(id);
      const next = change(current); // may throw: then nothing is written
      if (next === current) return current;
      if (next.version <= current.version) throw new Error(`an update must raise the version of "${id}"`);
      const now = this.#now();
      const ttl = ttlOf(next, now);
      const answer = await this.#index.withExpiry(id, now, ttl, () =>
        this.#write(next, String(current.version), this.#keyTtl(next, ttl)),
      );
      if (answer === scripts.WRITTEN) {
        keepBounded(this.#written, id, next, WRITTEN_CACHE);
        return next;
      }
      this.#written.delete(id);
      if (answer === scripts.MISSING) throw new SessionNotFound(id);
      if (answer === scripts.FOREIGN)
        throw new Error(`session "${id}" is stored in a format this server cannot update`);
      // Another instance wrote first: read again and re-apply, after a short random pause.
      await sleep(Math.random() * Math.min(2 ** attempt, 50));
    }
    throw new StoreUnavailable(new Error(`gave up updating "${id}" after ${this.#maxAttempts} conflicting writes`));
  }

  /**
   * A key's native expiry: its entry's, and for a child a hold more, never
   * shortened by its own writes (redis-index.ts keeps it while its parent is).
   */
  #keyTtl(session: StoredSession, ttl: number): number {
    return session.parent === undefined ? ttl : ttl + this.#holdMs;
  }

  /** The write script: creates (`expected` '') or compare-and-sets one session, and publishes the change. */
  async #write(session: StoredSession, expected: string, ttl: number): Promise<number> {
    const value = keyvEnvelope(session);
    const message = JSON.stringify({
      id: session.id,
      version: session.version,
      cancelRequested: session.cancelRequested,
      by: this.#instance,
    });
    // Kept before sending (the notification may come back before the script's answer does),
    // so this instance's own notification carries the session: a read saved.
    keepBounded(this.#recent, session.id, session, RECENT);
    let answer = Number.NaN;
    try {
      answer = Number(
        await this.#connection.run(() =>
          this.#connection.script(
            scripts.write,
            [this.keys.session(session.id)],
            [expected, value, String(ttl), this.keys.channel, message, session.parent === undefined ? '' : '1'],
          ),
        ),
      );
      return answer;
    } finally {
      if (answer !== scripts.WRITTEN && this.#recent.get(session.id) === session) this.#recent.delete(session.id);
    }
  }

  /** Removes one session; every instance hears it is gone (when it existed). */
  async #remove(id: string): Promise<boolean> {
    const message = JSON.stringify({ id, version: 0, cancelRequested: false, deleted: true });
    const removed = await this.#connection.script(
      scripts.remove,
      [this.keys.session(id)],
      [this.keys.channel, message],
    );
    return Number(removed) > 0;
  }

  // ------------------------------------------------------------ notification

  #hear(message: string): void {
    let change: StoreChange;
    try {
      const parsed = JSON.parse(message) as Partial<StoreChange> & { by?: string };
      if (typeof parsed.id !== 'string' || typeof parsed.version !== 'number') return;
      change = { id: parsed.id, version: parsed.version, cancelRequested: parsed.cancelRequested === true };
      if (parsed.deleted === true) {
        change.deleted = true;
        this.#index.forget(parsed.id);
        this.#recent.delete(parsed.id);
      }
      if (parsed.by !== this.#instance) this.#written.delete(parsed.id);
      const own = this.#recent.get(parsed.id);
      if (parsed.by === this.#instance && own?.version === parsed.version) {
        change.session = own;
        this.#recent.delete(parsed.id);
      }
    } catch {
      return;
    }
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (error) {
        this.#log(`liveop: a store listener threw: ${String(error)}`);
      }
    }
  }
}

function ttlOf(session: StoredSession, now: number): number {
  return Math.max(1, Math.ceil(retentionMs(session, now)));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
