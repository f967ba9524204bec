/**
 * The Lua the Redis store runs. Each script is atomic on the server, so a
 * write is either all there or not at all, and the compare-and-set cannot be
 * interleaved with another instance's write. Scripts are sent by SHA
 * (EVALSHA) and re-sent whole when Redis answers NOSCRIPT (after a restart).
 *
 * The stored session is Keyv's envelope with the version first
 * (keyv-format.ts), so the compare-and-set reads the version with one
 * anchored match instead of decoding the whole session.
 */
import { createHash } from 'node:crypto';
import { ENVELOPE_VERSION } from './keyv-format.ts';

export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

function lua(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** What `write` answers. */
export const WRITTEN = 1;
export const CONFLICT = 0;
export const MISSING = -1;
export const EXISTS = -2;
export const FOREIGN = -3;

/**
 * Creates (expected version '') or compare-and-sets one session, sets its
 * native expiry, and publishes the change, all at once.
 * KEYS: session. ARGV: expected version or '', new stored value, ttl ms,
 * channel, change message.
 */
export const write = lua(`
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if current then return ${EXISTS} end
else
  if not current then return ${MISSING} end
  local version = string.match(current, '${ENVELOPE_VERSION}')
  if not version then return ${FOREIGN} end
  if version ~= ARGV[1] then return ${CONFLICT} end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return ${WRITTEN}
`);

/**
 * Removes one session and, when it existed, publishes that it is gone — from
 * the node that holds it, so on a Cluster the notification cannot overtake
 * that session's earlier ones. KEYS: session. ARGV: channel, change message.
 */
export const remove = lua(`
local removed = redis.call('UNLINK', KEYS[1])
if removed > 0 then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
return removed
`);

/**
 * Adds a new session to the listing indexes.
 * KEYS: all, owner index, expiry, owners. ARGV: id, createdAt, expiresAt, owner tag.
 */
export const index = lua(`
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], 'GT', ARGV[3], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[4])
return 1
`);

const forget = `
local function forget(id)
  local tag = redis.call('HGET', KEYS[3], id)
  if tag then redis.call('ZREM', ARGV[1] .. tag, id) end
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
end
`;

/**
 * Removes sessions from every index (their owner index found through the owners hash).
 * KEYS: all, expiry, owners. ARGV: owner key prefix, ids…
 */
export const unindex = lua(`${forget}
for i = 2, #ARGV do forget(ARGV[i]) end
return #ARGV - 1
`);

/**
 * Drops at most `batch` index entries whose sessions have expired; answers how many.
 * KEYS: all, expiry, owners. ARGV: owner key prefix, now, batch.
 */
export const prune = lua(`${forget}
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do forget(id) end
return #ids
`);
