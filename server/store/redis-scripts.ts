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
 * native expiry, and publishes the change, all at once. With `keep` '1' (a
 * child, which its parent may keep) the expiry is never shortened.
 * KEYS: session. ARGV: expected version or '', new stored value, ttl ms,
 * channel, change message, keep.
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
local ttl = tonumber(ARGV[3])
if ARGV[6] == '1' and current then ttl = math.max(ttl, redis.call('PTTL', KEYS[1])) end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
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
 * Adds a new session to the listing indexes (a child to its parent's too).
 * KEYS: all, owner index, expiry, owners, parents, parent index.
 * ARGV: id, createdAt, expiresAt, owner tag, parent id or ''.
 */
export const index = lua(`
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], 'GT', ARGV[3], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[4])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[5], ARGV[1], ARGV[5])
  redis.call('ZADD', KEYS[6], 'NX', ARGV[2], ARGV[1])
end
return 1
`);

const forget = `
local function forget(id)
  local tag = redis.call('HGET', KEYS[3], id)
  if tag then redis.call('ZREM', ARGV[1] .. tag, id) end
  local parent = redis.call('HGET', KEYS[4], id)
  if parent then redis.call('ZREM', ARGV[2] .. parent, id) end
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
end
`;

/**
 * Removes sessions from every index (their owner and parent indexes found through the hashes).
 * KEYS: all, expiry, owners, parents. ARGV: owner key prefix, parent key prefix, ids…
 */
export const unindex = lua(`${forget}
for i = 3, #ARGV do forget(ARGV[i]) end
return #ARGV - 2
`);

/**
 * Looks at most `batch` index entries whose sessions have expired and drops
 * them, but for children whose parent's entry has not expired: those are
 * left for the caller, who keeps them as long as their parent's session
 * (its key is on another Cluster slot). Answers how many entries it looked
 * at, the children it dropped (their keys outlive their own expiry, so the
 * caller removes them), and the held children as id, parent, parent's entry
 * expiry.
 * KEYS: all, expiry, owners, parents. ARGV: owner key prefix, parent key prefix, now, batch.
 */
export const prune = lua(`${forget}
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
local dropped, held = {}, {}
for _, id in ipairs(ids) do
  local parent = redis.call('HGET', KEYS[4], id)
  local until_ = parent and redis.call('ZSCORE', KEYS[2], parent)
  if until_ and tonumber(until_) > tonumber(ARGV[3]) then
    table.insert(held, id)
    table.insert(held, parent)
    table.insert(held, until_)
  else
    forget(id)
    if parent then table.insert(dropped, id) end
  end
end
return {#ids, dropped, held}
`);
