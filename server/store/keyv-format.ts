/**
 * How Keyv keeps a session in Redis — the one place that knows it, because
 * the Redis store writes those keys without Keyv. Keyv cannot do a
 * compare-and-set write that also publishes the change atomically (its `set`
 * is a plain SET), so writes and deletes are Lua scripts (redis-scripts.ts)
 * while reads go through Keyv: `get`, and `getMany`, which `@keyv/redis`
 * splits by Cluster slot. Both sides must agree on:
 *
 * - **The key.** With `useKeyPrefix: false` Keyv adds nothing; `@keyv/redis`
 *   puts its namespace and `keyPrefixSeparator` before the id.
 * - **The value.** Keyv stores `{"value":…,"expires":…}` and answers `value`.
 *   The scripts write `{"v":VERSION,"value":SESSION}`: Keyv ignores `v`, and
 *   the compare-and-set reads the version at the front with one anchored
 *   match instead of decoding the session. No `expires`: Redis's own expiry
 *   is the only clock, so a server whose clock runs behind cannot make Keyv
 *   delete a live session on read.
 *
 * test/server/store/keyv-format.test.ts proves both ways round that they
 * agree, so a Keyv upgrade that changes its format fails a test, not
 * production.
 */
import KeyvRedis, { Keyv, type RedisClientType, type RedisClusterType } from '@keyv/redis';
import { fromStored, type StoredSession } from '../core/model.ts';

/** What `@keyv/redis` puts between its namespace and a key (set below: its default is `::`). */
const KEY_SEPARATOR = ':';

/**
 * The Redis key Keyv reads for `id` in `namespace`.
 * @example keyvKey('liveop:s', 'abc') // 'liveop:s:abc'
 */
export function keyvKey(namespace: string, id: string): string {
  return `${namespace}${KEY_SEPARATOR}${id}`;
}

/** The stored value of a session: Keyv's envelope, the version first (see ENVELOPE_VERSION). */
export function keyvEnvelope(session: StoredSession): string {
  return `{"v":${session.version},"value":${JSON.stringify(session)}}`;
}

/** A Lua pattern that captures the version at the front of what keyvEnvelope() wrote. */
export const ENVELOPE_VERSION = '^{"v":(%d+),';

/** The Keyv that reads sessions in `namespace` through `client`. */
export function sessionKeyv(client: RedisClientType | RedisClusterType, namespace: string): Keyv<StoredSession> {
  const adapter = new KeyvRedis<StoredSession>(client, {
    keyPrefixSeparator: KEY_SEPARATOR,
    throwOnErrors: true,
    throwOnConnectError: true,
  });
  const keyv = new Keyv<StoredSession>({
    store: adapter,
    namespace,
    useKeyPrefix: false,
    throwOnErrors: true,
    // Plain JSON: Keyv's default serializer rewrites strings that start with ':' (':base64:…' becomes a Buffer).
    serialize: JSON.stringify,
    // An earlier version's session (a rolling deploy shares the store) is read in today's terms.
    deserialize: <Value>(text: string) => {
      const stored = JSON.parse(text) as { value?: Value };
      if (stored?.value !== undefined) stored.value = fromStored(stored.value as StoredSession) as Value;
      return stored;
    },
  });
  // Failures reach the caller (throwOnErrors); the event only must not crash the process.
  keyv.on('error', () => {});
  return keyv;
}
