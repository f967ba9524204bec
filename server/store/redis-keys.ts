/**
 * Where the Redis store keeps what, under one prefix (so several apps share a
 * Redis, and tests each get their own). The index keys share one hash tag, so
 * the scripts that touch several of them stay on one Redis Cluster slot; every
 * session key stands alone (its own slot), touched by one-key scripts only,
 * and is the key Keyv reads (keyv-format.ts).
 *
 * @example
 * redisKeys('liveop').session('abc') // 'liveop:s:abc'
 * redisKeys('liveop').all            // '{liveop}:idx:all'
 */
import { keyvKey } from './keyv-format.ts';

export interface RedisKeys {
  readonly prefix: string;
  /** Keyv's namespace for the session keys (keyv-format.ts builds them). */
  readonly sessionNamespace: string;
  /** The session body (a string, with native expiry): Keyv's key for `id`. */
  session(id: string): string;
  /** Every session: sorted set, member id, score createdAt. */
  readonly all: string;
  /** When each index entry may go: sorted set, member id, score expiresAt (never lowered). */
  readonly expiry: string;
  /** Each indexed session's owner tag (hash id → tag), to find its owner index when pruning. */
  readonly owners: string;
  /** One owner's sessions: sorted set, member id, score createdAt. */
  owner(owner: string | null): string;
  /** What `owner()` puts before an owner tag (the scripts build owner keys from it). */
  readonly ownerPrefix: string;
  /** Each indexed child's parent (hash id → parent id), to find its parent index when pruning. */
  readonly parents: string;
  /** One parent's children: sorted set, member id, score createdAt. */
  parent(id: string): string;
  /** What `parent()` puts before a parent id. */
  readonly parentPrefix: string;
  /** The pub/sub channel every instance listens on. */
  readonly channel: string;
  /** SCAN patterns that cover every key of this prefix. */
  readonly patterns: readonly string[];
}

/** `n` for no owner, `s:NAME` for an owner, so no name can pose as "no owner". */
export function ownerTag(owner: string | null): string {
  return owner === null ? 'n' : `s:${owner}`;
}

export function redisKeys(prefix: string): RedisKeys {
  if (/[{}*?[\]]/.test(prefix)) throw new Error(`the Redis prefix "${prefix}" may not contain { } * ? [ ]`);
  const tagged = `{${prefix}}:idx`;
  const sessionNamespace = `${prefix}:s`;
  return {
    prefix,
    sessionNamespace,
    session: (id) => keyvKey(sessionNamespace, id),
    all: `${tagged}:all`,
    expiry: `${tagged}:exp`,
    owners: `${tagged}:owners`,
    owner: (owner) => `${tagged}:owner:${ownerTag(owner)}`,
    ownerPrefix: `${tagged}:owner:`,
    parents: `${tagged}:parents`,
    parent: (id) => `${tagged}:parent:${id}`,
    parentPrefix: `${tagged}:parent:`,
    channel: `${prefix}:changes`,
    patterns: [`${prefix}:*`, `{${prefix}}:*`],
  };
}
