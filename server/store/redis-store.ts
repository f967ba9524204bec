/**
 * Sessions in Redis, shared by every server instance that uses the same
 * Redis and prefix. Reads go through Keyv (keyv-format.ts); writes and
 * deletes are Lua scripts that publish their change atomically.
 *
 * - Writes are one Lua script each: compare-and-set on `version`, native
 *   expiry (`PX`), and the change published, all or nothing.
 * - One pub/sub subscription per store; once a lost connection is back,
 *   `onResync` tells listeners to re-read (redis-connection.ts).
 * - While Redis is away every method rejects quickly with `StoreUnavailable`.
 *
 * See docs/redis.md for the design and what happens when Redis goes away.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Keyv } from '@keyv/redis';
import type { StoredSession } from '../core/model';
import { retentionMs } from '../core/status';
import { keyvEnvelope, sessionKeyv } from './keyv-format';
import { PerKeyQueue } from './per-key-queue';
import { RedisConnection } from './redis-connection';
import { ownerTag, type RedisKeys, redisKeys } from './redis-keys';
import * as scripts from './redis-scripts';
import {
  type ListOptions,
  SessionNotFound,
  type SessionPage,
  type SessionStore,
  type StoreChange,
  StoreUnavailable,
} from './session-store';

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

/** How many of its own writes an instance keeps in hand for its own notifications. */
const RECENT = 256;
/** Sets `key` as the newest entry of `map`, dropping the oldest past `limit`. */
function keepBounded<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value as string);
}

/** Sessions whose last write by this instance is remembered as the next update's first guess. */
const WRITTEN_CACHE = 1_000;
/** Index entries (and purged sessions) handled per round trip: small, so serving never waits long. */
const BATCH = 200;

export class RedisSessionStore implements SessionStore {
  /** Where this store keeps what (for operators and tests). */
  readonly keys: RedisKeys;
  readonly #connection: RedisConnection;
  readonly #keyv: Keyv<StoredSession>;
  readonly #now: () => number;
  readonly #maxAttempts: number;
  readonly #maxAgeMs: number | undefined;
  readonly #log: (message: string) => void;
  readonly #listeners = new Set<Listener>();
  /** One update at a time per session in this process (the compare-and-set handles other instances). */
  readonly #writing = new PerKeyQueue();
  /** Sessions this instance is writing or just wrote, by id (at most RECENT). */
  readonly #recent = new Map<string, StoredSession>();
  readonly #written = new Map<string, StoredSession>();
  /** How far this instance last raised each session's entry in the expiry index. */
  readonly #indexedUntil = new Map<string, number>();
  /** Tells this instance's notifications from the others'. */
  readonly #instance = randomUUID();
  #purger: NodeJS.Timeout | undefined;
  #purging: Promise<unknown> | undefined;

  private constructor(connection: RedisConnection, keys: RedisKeys, options: RedisStoreOptions) {
    this.#connection = connection;
    this.#keyv = sessionKeyv(connection.client, keys.sessionNamespace);
    this.keys = keys;
    this.#now = options.now ?? Date.now;
    this.#maxAttempts = options.maxAttempts ?? 50;
    this.#maxAgeMs = options.maxAgeMs;
    this.#log = options.log ?? ((message) => console.warn(message));
    // Redis may have lost what it held, or missed writes while we were away: guess nothing.
    // (Added first, so it runs before the listeners' onResync.)
    connection.onResync(() => {
      this.#written.clear();
      this.#indexedUntil.clear();
    });
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
      const interval = options.purgeIntervalMs ?? 60_000;
      store.#purger = setInterval(() => store.#periodicPurge(), interval).unref();
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
    const { keys } = this;
    // Index first (sent together, in this order): an index entry without its session is skipped by
    // list() and pruned; a session without its entry would be missing from lists.
    const [, answer] = await Promise.all([
      this.#connection.run(() =>
        this.#connection.script(
          scripts.index,
          [keys.all, keys.owner(session.owner), keys.expiry, keys.owners],
          [session.id, String(session.createdAt), String(now + ttl), ownerTag(session.owner)],
        ),
      ),
      this.#write(session, '', ttl),
    ]);
    if (answer === scripts.EXISTS) throw new Error(`session "${session.id}" already exists`);
    if (answer !== scripts.WRITTEN) throw new Error(`unexpected answer ${answer} creating "${session.id}"`);
  }

  update(id: string, change: (session: StoredSession) => StoredSession): Promise<StoredSession> {
    return this.#writing.run(id, () => this.#update(id, change));
  }

  async delete(id: string): Promise<boolean> {
    const existed = await this.#connection.run(() => this.#remove(id));
    await this.#connection.run(() => this.#unindex([id]));
    return existed;
  }

  async list({ owner, limit, cursor }: ListOptions): Promise<SessionPage> {
    if (limit <= 0) return { sessions: [], cursor: null };
    const after = decodeCursor(cursor);
    const key = owner === undefined ? this.keys.all : this.keys.owner(owner);
    await this.#connection.run(() => this.#prune(this.#now(), BATCH));
    const found: StoredSession[] = [];
    const chunk = Math.min(Math.max(limit + 1, 20), 500);
    let offset = 0;
    while (found.length <= limit) {
      const entries = await this.#connection.run(() =>
        this.#connection.client.zRangeWithScores(key, after ? after.createdAt : '+inf', '-inf', {
          BY: 'SCORE',
          REV: true,
          LIMIT: { offset, count: chunk },
        }),
      );
      offset += entries.length;
      const ids = entries
        .filter((e) => !after || e.score < after.createdAt || (e.score === after.createdAt && e.value < after.id))
        .map((e) => e.value);
      if (ids.length > 0) {
        const sessions = await this.#connection.run(() => this.#keyv.getMany(ids));
        for (const session of sessions) if (session !== undefined && found.length <= limit) found.push(session);
      }
      if (entries.length < chunk) break;
    }
    const sessions = found.slice(0, limit);
    const last = sessions.at(-1);
    return { sessions, cursor: found.length > limit && last ? encodeCursor(last) : null };
  }

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
  async purge(maxAgeMs?: number): Promise<number> {
    const now = this.#now();
    while ((await this.#connection.run(() => this.#prune(now, BATCH))) === BATCH) await nextTurn();
    if (maxAgeMs === undefined) return 0;
    const cutoff = now - maxAgeMs;
    let removed = 0;
    for (;;) {
      const ids = await this.#connection.run(() =>
        this.#connection.client.zRangeByScore(this.keys.all, '-inf', `(${cutoff}`, {
          LIMIT: { offset: 0, count: BATCH },
        }),
      );
      if (ids.length === 0) break;
      await this.#connection.run(() => Promise.all(ids.map((id) => this.#remove(id))));
      await this.#connection.run(() => this.#unindex(ids));
      removed += ids.length;
      if (ids.length < BATCH) break;
      await nextTurn();
    }
    return removed;
  }

  async close(): Promise<void> {
    if (this.#connection.closed) return;
    clearInterval(this.#purger);
    this.#listeners.clear();
    this.#recent.clear();
    this.#written.clear();
    this.#indexedUntil.clear();
    // Work under way now fails fast (the connection refuses it); let it settle before the clients close.
    await this.#connection.close(async () => {
      await this.#purging?.catch(() => {});
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
      // The expiry index is raised with some slack (≤ 60 s, ≤ 10% of the TTL), so the
      // updates that follow within it need no ZADD; list() skips entries whose session
      // is gone, so an entry outliving its session by the slack is harmless.
      const indexed = this.#indexedUntil.get(id);
      const indexUntil = now + ttl + Math.min(60_000, Math.floor(ttl / 10));
      const reindex = indexed === undefined || indexed < now + ttl;
      // Sent together (one round trip); the expiry never goes down (GT), so it is safe even if the write loses.
      const [answer] = await Promise.all([
        this.#write(next, String(current.version), ttl),
        reindex
          ? this.#connection.run(() =>
              this.#connection.client.zAdd(this.keys.expiry, { score: indexUntil, value: id }, { GT: true }),
            )
          : null,
      ]);
      if (reindex) keepBounded(this.#indexedUntil, id, indexUntil, WRITTEN_CACHE);
      if (answer === scripts.WRITTEN) {
        this.#wrote(next);
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

  async #write(session: StoredSession, expected: string, ttl: number): Promise<number> {
    const value = keyvEnvelope(session);
    const message = JSON.stringify({
      id: session.id,
      version: session.version,
      cancelRequested: session.cancelRequested,
      by: this.#instance,
    });
    // Kept before sending: the notification may come back before the script's answer does.
    this.#remember(session);
    let answer = Number.NaN;
    try {
      answer = Number(
        await this.#connection.run(() =>
          this.#connection.script(
            scripts.write,
            [this.keys.session(session.id)],
            [expected, value, String(ttl), this.keys.channel, message],
          ),
        ),
      );
      return answer;
    } finally {
      if (answer !== scripts.WRITTEN && this.#recent.get(session.id) === session) this.#recent.delete(session.id);
    }
  }

  /** The last session this instance wrote, per id (bounded): the first guess of the next update. */
  #wrote(session: StoredSession): void {
    keepBounded(this.#written, session.id, session, WRITTEN_CACHE);
  }

  /** What this instance just wrote, so its own notification carries the session (a read saved). */
  #remember(session: StoredSession): void {
    keepBounded(this.#recent, session.id, session, RECENT);
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

  async #unindex(ids: string[]): Promise<void> {
    const { keys } = this;
    await this.#connection.script(scripts.unindex, [keys.all, keys.expiry, keys.owners], [keys.ownerPrefix, ...ids]);
  }

  async #prune(now: number, batch: number): Promise<number> {
    const { keys } = this;
    const pruned = await this.#connection.script(
      scripts.prune,
      [keys.all, keys.expiry, keys.owners],
      [keys.ownerPrefix, String(now), String(batch)],
    );
    return Number(pruned);
  }

  #periodicPurge(): void {
    if (this.#purging || this.#connection.closed) return;
    this.#purging = this.purge(this.#maxAgeMs)
      .catch(() => {}) // Redis away: the state change was already logged; the next round tries again.
      .finally(() => {
        this.#purging = undefined;
      });
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
        this.#indexedUntil.delete(parsed.id);
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

function encodeCursor(session: StoredSession): string {
  return `${session.createdAt}:${session.id}`;
}

function decodeCursor(cursor: string | null | undefined): { createdAt: number; id: string } | null {
  if (!cursor) return null;
  const colon = cursor.indexOf(':');
  const createdAt = Number(cursor.slice(0, colon));
  if (colon < 1 || !Number.isFinite(createdAt)) return null;
  return { createdAt, id: cursor.slice(colon + 1) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
