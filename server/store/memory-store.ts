/**
 * The embedded default: sessions in one process's memory, through Keyv with
 * the `@cacheable/memory` adapter. Keyv's plain Map only drops an expired
 * entry when that key is read again; this adapter sweeps on an interval, so
 * memory does not grow with sessions nobody reads. The adapter's TTL runs on
 * the wall clock; a session also expires on the store's own clock (`now`,
 * the server's injected one), so that time decides alone.
 *
 * A child is kept while its parent is (docs/protocol.md, Retention): its
 * own expiry passed, it still counts as there as long as its parent does,
 * checked when it is read or swept, so a child's change costs nothing more.
 */
import { KeyvCacheableMemory } from '@cacheable/memory';
import Keyv from 'keyv';
import type { StoredSession } from '../core/model.ts';
import { retentionMs } from '../core/status.ts';
import { PerKeyQueue } from './per-key-queue.ts';
import {
  type ListOptions,
  SessionNotFound,
  type SessionPage,
  type SessionStore,
  type StoreChange,
} from './session-store.ts';

export interface MemoryStoreOptions {
  /** The clock (tests pass their own). @default Date.now */
  now?: () => number;
  /** How often expired sessions are swept from memory. @default 1000 */
  sweepIntervalMs?: number;
  /**
   * Removes, at each sweep, every session created more than this long ago,
   * whatever its TTL (its streams hear it was deleted): the Redis store's
   * `maxAgeMs`, and `LIVEOP_MAX_AGE_DAYS`. @default undefined (none)
   */
  maxAgeMs?: number;
}

interface IndexEntry {
  owner: string | null;
  parent: string | undefined;
  createdAt: number;
  expiresAt: number;
}

export class MemorySessionStore implements SessionStore {
  readonly #now: () => number;
  readonly #keyv: Keyv<StoredSession>;
  readonly #listeners = new Set<(change: StoreChange) => void>();
  /** One update at a time per session: none lost. */
  readonly #writing = new PerKeyQueue();
  /** Listing index (newest last), swept with the sessions. */
  readonly #index = new Map<string, IndexEntry>();
  /** Sessions per owner in the index (the sessions-per-owner cap counts these). */
  readonly #owned = new Map<string | null, number>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #maxAgeMs: number | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxAgeMs = options.maxAgeMs;
    const sweepIntervalMs = options.sweepIntervalMs ?? 1_000;
    // No serialisation: the core never mutates a stored session, so objects can be shared.
    this.#keyv = new Keyv<StoredSession>({
      // One Map: with the default 16 the adapter hashes every key (JSON + djb2) to pick
      // one, a few % of an event post's CPU; one Map holds millions of sessions.
      store: new KeyvCacheableMemory({ checkInterval: sweepIntervalMs, useClone: false, storeHashSize: 1 }),
      namespace: 'liveop',
      serialize: undefined,
      deserialize: undefined,
    });
    this.#sweeper = setInterval(() => {
      this.#sweepIndex();
      if (this.#maxAgeMs !== undefined) void this.purge(this.#maxAgeMs);
    }, sweepIntervalMs).unref();
  }

  async get(id: string): Promise<StoredSession | undefined> {
    const entry = this.#index.get(id);
    if (entry !== undefined && !this.#kept(entry, this.#now())) return undefined;
    return this.#keyv.get(id);
  }

  async create(session: StoredSession): Promise<void> {
    await this.#write(session);
    this.#publish(session);
  }

  update(id: string, change: (session: StoredSession) => StoredSession): Promise<StoredSession> {
    return this.#writing.run(id, async () => {
      const current = await this.get(id);
      if (current === undefined) throw new SessionNotFound(id);
      const next = change(current);
      if (next === current) return current;
      await this.#write(next);
      this.#publish(next);
      return next;
    });
  }

  async delete(id: string): Promise<boolean> {
    const existed = await this.#keyv.delete(id);
    this.#unindex(id);
    if (existed)
      for (const listener of this.#listeners) listener({ id, version: 0, cancelRequested: false, deleted: true });
    return existed;
  }

  async list({
    owner,
    parent,
    limit,
    cursor,
    filter,
    readMost = Number.POSITIVE_INFINITY,
  }: ListOptions): Promise<SessionPage> {
    const now = this.#now();
    // Newest first; the cursor is the id of the last session of the previous page.
    const ids = [...this.#index.entries()]
      .filter(
        ([, e]) =>
          this.#kept(e, now) &&
          (owner === undefined || e.owner === owner) &&
          (parent === undefined || e.parent === parent),
      )
      .sort((a, b) => b[1].createdAt - a[1].createdAt || (a[0] < b[0] ? 1 : -1))
      .map(([id]) => id);
    const start = cursor ? ids.indexOf(cursor) + 1 : 0;
    const sessions: StoredSession[] = [];
    let last: string | null = null;
    let more = false;
    let read = 0;
    for (const id of ids.slice(start)) {
      // Read as much as a page may: the rest is the next call's (a short page with a cursor).
      if (filter && read === readMost) {
        more = true;
        break;
      }
      const session = await this.#keyv.get(id);
      read += 1;
      if (session === undefined || (filter && !filter(session))) {
        last = id;
        continue;
      }
      // A page is full: there is a next one only if another session matches (else "load more" would load nothing).
      if (sessions.length === limit) {
        more = true;
        break;
      }
      sessions.push(session);
      last = id;
    }
    return { sessions, cursor: more ? last : null };
  }

  /**
   * Removes every session created more than `maxAgeMs` ago, whatever its TTL
   * (its streams hear it was deleted), as the Redis store's `purge()` does.
   * Answers how many it removed.
   * @example
   * await store.purge(7 * 24 * 3600_000); // nothing older than a week
   */
  async purge(maxAgeMs?: number): Promise<number> {
    this.#sweepIndex();
    if (maxAgeMs === undefined) return 0;
    const cutoff = this.#now() - maxAgeMs;
    const old = [...this.#index].filter(([, entry]) => entry.createdAt < cutoff).map(([id]) => id);
    for (const id of old) await this.delete(id);
    return old.length;
  }

  async countOwned(owner: string | null): Promise<number> {
    return this.#owned.get(owner) ?? 0;
  }

  /** In one process no notification can be missed, so `onResync` is never called. */
  subscribe(listener: (change: StoreChange) => void, _onResync?: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#listeners.clear();
    await this.#keyv.clear();
    this.#index.clear();
    this.#owned.clear();
    await this.#keyv.disconnect();
  }

  async #write(session: StoredSession): Promise<void> {
    const now = this.#now();
    const ttl = retentionMs(session, now);
    // A child may outlive its own expiry (its parent keeps it): the index sweep removes it, not the adapter.
    await this.#keyv.set(session.id, session, session.parent === undefined ? ttl : undefined);
    const entry = this.#index.get(session.id);
    if (entry !== undefined) {
      entry.expiresAt = now + ttl;
      return;
    }
    this.#index.set(session.id, {
      owner: session.owner,
      parent: session.parent,
      createdAt: session.createdAt,
      expiresAt: now + ttl,
    });
    this.#owned.set(session.owner, (this.#owned.get(session.owner) ?? 0) + 1);
  }

  #unindex(id: string): void {
    const entry = this.#index.get(id);
    if (entry === undefined) return;
    this.#index.delete(id);
    const left = (this.#owned.get(entry.owner) ?? 1) - 1;
    if (left > 0) this.#owned.set(entry.owner, left);
    else this.#owned.delete(entry.owner);
  }

  #publish(session: StoredSession): void {
    const change: StoreChange = {
      id: session.id,
      version: session.version,
      cancelRequested: session.cancelRequested,
      session,
    };
    for (const listener of this.#listeners) listener(change);
  }

  /** Whether the session is still there at `now`: its own expiry to come, or (a child) its parent still there. */
  #kept(entry: IndexEntry, now: number): boolean {
    // A parent exists before its children, so this walks up a finite chain.
    for (let at: IndexEntry | undefined = entry; at !== undefined; ) {
      if (at.expiresAt > now) return true;
      at = at.parent === undefined ? undefined : this.#index.get(at.parent);
    }
    return false;
  }

  #sweepIndex(): void {
    const now = this.#now();
    for (const [id, entry] of this.#index) {
      if (this.#kept(entry, now)) continue;
      this.#unindex(id);
      void this.#keyv.delete(id);
    }
  }
}
