/**
 * `liveop/redis`: sessions in Redis, shared by every instance on the same
 * Redis and prefix. Needs `@keyv/redis` installed (an optional peer
 * dependency, so apps on the memory store do not carry it).
 *
 * @example
 * import { createLiveop } from 'liveop';
 * import { RedisSessionStore } from 'liveop/redis';
 * const liveop = createLiveop({ store: await RedisSessionStore.connect({ url: process.env.REDIS_URL! }) });
 */
export { RedisSessionStore, type RedisStoreOptions } from './store/redis-store.ts';
