/**
 * The Redis store's listing and expiry indexes: sorted sets scored by
 * `createdAt` (all sessions, and one per owner) that `list()` pages through
 * newest first, and one scored by when each entry may go, so entries of
 * expired sessions are pruned — a few on every `list()`, the rest by a
 * periodic purge — and the indexes hold at most the sessions that could
 * still be alive. The purge also removes sessions past a maximum age.
 *
 * An entry's expiry is only ever raised (`ZADD GT`), so an entry never
 * leaves before its session; `list()` skips sessions already gone.
 *
 * A child is kept while its parent is: its key outlives its own expiry by
 * `holdMs`, and when its entry comes up the prune either renews both to its
 * parent's remaining time (the parent still there) or drops them (the
 * parent gone). Each child costs one renewal per parent lifetime seen, none
 * per change.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { StoredSession } from '../core/model.ts';
import { keepBounded } from './keep-bounded.ts';
import type { RedisConnection } from './redis-connection.ts';
import { ownerTag, type RedisKeys } from './redis-keys.ts';
import * as scripts from './redis-scripts.ts';
import type { ListOptions, SessionPage } from './session-store.ts';

/** What the index needs of the sessions it lists and purges. */
export interface IndexedSessions {
  /** The sessions of these ids, in order; undefined where one has gone. */
  read(ids: string[]): Promise<(StoredSession | undefined)[]>;
  /** Removes one session, telling every instance it is gone; true when it existed. */
  remove(id: string): Promise<boolean>;
}

/** Index entries (and purged sessions) handled per round trip: small, so serving never waits long. */
const BATCH = 200;
/** Sessions whose raised expiry this instance remembers. */
const RAISED_CACHE = 1_000;

export class RedisIndex {
  readonly #connection: RedisConnection;
  readonly #keys: RedisKeys;
  readonly #sessions: IndexedSessions;
  readonly #now: () => number;
  readonly #holdMs: number;
  /** How far this instance last raised each session's entry in the expiry index. */
  readonly #raised = new Map<string, number>();
  #purger: NodeJS.Timeout | undefined;
  #purging: Promise<unknown> | undefined;

  /** `holdMs`: how long a child's key outlives the expiry its entry has, so the prune renews it in time. */
  constructor(
    connection: RedisConnection,
    keys: RedisKeys,
    sessions: IndexedSessions,
    now: () => number,
    holdMs: number,
  ) {
    this.#connection = connection;
    this.#keys = keys;
    this.#sessions = sessions;
    this.#now = now;
    this.#holdMs = holdMs;
    // Redis may have lost what it held: guess nothing about the expiry index.
    connection.onResync(() => this.#raised.clear());
  }

  /** Adds a new session to every index, its entry to go at `expiresAt`. */
  add(session: StoredSession, expiresAt: number): Promise<unknown> {
    const keys = this.#keys;
    return this.#connection.run(() =>
      this.#connection.script(
        scripts.index,
        [
          keys.all,
          keys.owner(session.owner),
          keys.expiry,
          keys.owners,
          keys.parents,
          keys.parent(session.parent ?? ''),
        ],
        [session.id, String(session.createdAt), String(expiresAt), ownerTag(session.owner), session.parent ?? ''],
      ),
    );
  }

  /**
   * Runs `write` — of session `id`, kept `ttl` ms from `now` — and, when its
   * entry might go before it, raises the entry in the same round trip. It is
   * raised with some slack (≤ 60 s, ≤ 10% of the TTL), so the updates that
   * follow within it need no ZADD; an entry outliving its session by the
   * slack is harmless. The expiry never goes down (GT), so raising it is
   * safe even if the write loses.
   */
  async withExpiry<T>(id: string, now: number, ttl: number, write: () => Promise<T>): Promise<T> {
    const raised = this.#raised.get(id);
    if (raised !== undefined && raised >= now + ttl) return write();
    const until = now + ttl + Math.min(60_000, Math.floor(ttl / 10));
    const [answer] = await Promise.all([
      write(),
      this.#connection.run(() =>
        this.#connection.client.zAdd(this.#keys.expiry, { score: until, value: id }, { GT: true }),
      ),
    ]);
    keepBounded(this.#raised, id, until, RAISED_CACHE);
    return answer;
  }

  /** Forgets how far this instance raised `id`'s entry (the session was deleted). */
  forget(id: string): void {
    this.#raised.delete(id);
  }

  /** Removes sessions from every index. */
  async unindex(ids: string[]): Promise<void> {
    const keys = this.#keys;
    await this.#connection.run(() =>
      this.#connection.script(
        scripts.unindex,
        [keys.all, keys.expiry, keys.owners, keys.parents],
        [keys.ownerPrefix, keys.parentPrefix, ...ids],
      ),
    );
  }

  /** Sessions in `owner`'s index: entries of expired ones count until the next prune (at most a minute). */
  countOwned(owner: string | null): Promise<number> {
    return this.#connection.run(() => this.#connection.client.zCard(this.#keys.owner(owner)));
  }

  /** Sessions newest first (equal `createdAt` by id), after `cursor` (`createdAt:id`). */
  async list({
    owner,
    parent,
    limit,
    cursor,
    filter: wanted,
    readMost = Number.POSITIVE_INFINITY,
  }: ListOptions): Promise<SessionPage> {
    if (limit <= 0) return { sessions: [], cursor: null };
    const after = decodeCursor(cursor);
    // A parent's children are listed from its own index (they share its owner, checked as they are read).
    const key =
      parent !== undefined ? this.#keys.parent(parent) : owner === undefined ? this.#keys.all : this.#keys.owner(owner);
    const filter =
      parent !== undefined && owner !== undefined
        ? (s: StoredSession) => s.owner === owner && (!wanted || wanted(s))
        : wanted;
    await this.#connection.run(() => this.#prune(this.#now(), BATCH));
    const found: StoredSession[] = [];
    const chunk = Math.min(Math.max(limit + 1, 20), 500);
    let offset = 0;
    let read = 0;
    /** The last entry read when the page stopped at `readMost`: the next page goes on after it. */
    let stoppedAt: string | null = null;
    while (found.length <= limit && stoppedAt === null) {
      const entries = await this.#connection.run(() =>
        this.#connection.client.zRangeWithScores(key, after ? after.createdAt : '+inf', '-inf', {
          BY: 'SCORE',
          REV: true,
          LIMIT: { offset, count: chunk },
        }),
      );
      offset += entries.length;
      let fresh = entries.filter(
        (e) => !after || e.score < after.createdAt || (e.score === after.createdAt && e.value < after.id),
      );
      if (filter && read + fresh.length >= readMost && fresh.length > 0) {
        fresh = fresh.slice(0, readMost - read);
        const last = fresh.at(-1);
        stoppedAt = last ? `${last.score}:${last.value}` : null;
      }
      read += fresh.length;
      if (fresh.length > 0) {
        const sessions = await this.#connection.run(() => this.#sessions.read(fresh.map((e) => e.value)));
        for (const session of sessions) {
          if (session !== undefined && found.length <= limit && (!filter || filter(session))) found.push(session);
        }
      }
      if (entries.length < chunk) break;
    }
    const sessions = found.slice(0, limit);
    const last = sessions.at(-1);
    if (found.length > limit && last) return { sessions, cursor: encodeCursor(last) };
    return { sessions, cursor: stoppedAt };
  }

  /**
   * Prunes the entries of expired sessions, then removes every session
   * created more than `maxAgeMs` ago; in batches, with a turn of the event
   * loop between them. Answers how many sessions it removed.
   */
  async purge(maxAgeMs?: number): Promise<number> {
    const now = this.#now();
    while ((await this.#connection.run(() => this.#prune(now, BATCH))) === BATCH) await nextTurn();
    if (maxAgeMs === undefined) return 0;
    const cutoff = now - maxAgeMs;
    let removed = 0;
    for (;;) {
      const ids = await this.#connection.run(() =>
        this.#connection.client.zRangeByScore(this.#keys.all, '-inf', `(${cutoff}`, {
          LIMIT: { offset: 0, count: BATCH },
        }),
      );
      if (ids.length === 0) break;
      await this.#connection.run(() => Promise.all(ids.map((id) => this.#sessions.remove(id))));
      await this.unindex(ids);
      removed += ids.length;
      if (ids.length < BATCH) break;
      await nextTurn();
    }
    return removed;
  }

  /** Purges every `intervalMs` (one round at a time), until close(). */
  startPurging(intervalMs: number, maxAgeMs: number | undefined): void {
    this.#purger = setInterval(() => this.#periodicPurge(maxAgeMs), intervalMs).unref();
  }

  /** Stops the periodic purge and waits for a round under way. */
  async close(): Promise<void> {
    clearInterval(this.#purger);
    this.#raised.clear();
    await this.#purging?.catch(() => {});
  }

  /** Prunes one batch (see scripts.prune); answers how many entries it looked at. */
  async #prune(now: number, batch: number): Promise<number> {
    const keys = this.#keys;
    const [looked, dropped, held] = (await this.#connection.script(
      scripts.prune,
      [keys.all, keys.expiry, keys.owners, keys.parents],
      [keys.ownerPrefix, keys.parentPrefix, String(now), String(batch)],
    )) as [number, string[], string[]];
    const orphans: string[] = [];
    const byParent = new Map<string, { until: number; children: string[] }>();
    for (let i = 0; i + 2 < held.length; i += 3) {
      const [child, parent, until] = [held[i] as string, held[i + 1] as string, Number(held[i + 2])];
      const group = byParent.get(parent) ?? { until, children: [] };
      group.children.push(child);
      byParent.set(parent, group);
    }
    await Promise.all(
      [...byParent].map(async ([parent, { until, children }]) => {
        const left = await this.#connection.client.pTTL(keys.session(parent));
        if (left === -2) {
          orphans.push(...children);
          return;
        }
        // Until the parent's key goes (-1: it has no expiry; its entry's then); the entry is found then.
        const to = left === -1 ? until : Math.min(until, now + left);
        await Promise.all(children.map((child) => this.#hold(child, to, now)));
      }),
    );
    await Promise.all([...dropped, ...orphans].map((id) => this.#sessions.remove(id)));
    if (orphans.length > 0) await this.unindex(orphans);
    return Number(looked);
  }

  /** Keeps a child until `to`: its entry comes up then, its key a hold later (neither ever shortened). */
  #hold(child: string, to: number, now: number): Promise<unknown> {
    const client = this.#connection.client;
    return Promise.all([
      client.zAdd(this.#keys.expiry, { score: to, value: child }, { GT: true }),
      client.pExpire(this.#keys.session(child), to - now + this.#holdMs, 'GT'),
    ]);
  }

  #periodicPurge(maxAgeMs: number | undefined): void {
    if (this.#purging || this.#connection.closed) return;
    this.#purging = this.purge(maxAgeMs)
      .catch(() => {}) // Redis away: the state change was already logged; the next round tries again.
      .finally(() => {
        this.#purging = undefined;
      });
  }
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
