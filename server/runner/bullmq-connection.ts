/**
 * A Redis connection for BullMQ's queues and workers. Apart from
 * bullmq-options.ts because its type is ioredis's: the options are part of
 * the package's public types, and ioredis is an optional dependency a user
 * of the types may not have installed.
 */
import type { Redis } from 'ioredis';

/** A connection: a worker's blocks on Redis, and BullMQ asks for no per-command retry limit there. */
export async function connect(url: string, forWorker: boolean): Promise<Redis> {
  const { Redis } = await import('ioredis');
  return new Redis(url, forWorker ? { maxRetriesPerRequest: null } : {});
}
