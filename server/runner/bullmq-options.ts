/**
 * What the BullMQ producers (the server) and consumers (`liveop worker`)
 * agree on: where the queues are, their names, the jobs' shapes and how long
 * finished jobs are kept. bullmq and ioredis are optional dependencies,
 * loaded only when a queue or a worker is made.
 */
export interface BullmqOptions {
  /** The Redis BullMQ keeps its queues in (the sessions' Redis is fine). @example 'redis://127.0.0.1:6379' */
  url: string;
  /** BullMQ's key prefix, so several apps share one Redis. @default 'liveop' */
  prefix?: string;
  /** The operations queue's name. @default 'operations' */
  queue?: string;
  /** The webhook deliveries queue's name. @default 'webhooks' */
  webhookQueue?: string;
  /**
   * Workers: the longest a job whose worker died waits before another worker
   * runs it again (ms), while another worker runs. A job's lock lasts 0.6 of
   * it (renewed every 0.3: a task must not hold the event loop that long) and
   * the stalled-job check runs every 0.3, so a lock that ran out is found
   * within 0.9 of it; the rest is room for the pick-up.
   * @default 30000
   */
  stalledMs?: number;
}

/** An operation's job (named after the operation; its id is the session's). */
export interface OperationJob {
  sessionId: string;
  input: unknown;
}

/** A webhook delivery's job: where to, and the body to sign and send. */
export interface WebhookJob {
  url: string;
  body: string;
}

/** The queues' names and BullMQ's key prefix, defaults filled in. */
export function queuesOf(options: BullmqOptions): { operations: string; webhooks: string; prefix: string } {
  return {
    operations: options.queue ?? 'operations',
    webhooks: options.webhookQueue ?? 'webhooks',
    prefix: options.prefix ?? 'liveop',
  };
}

/** Finished jobs are kept an hour, failed ones a day (to look into), then BullMQ removes them. */
export const KEEP_JOBS = { removeOnComplete: { age: 3_600 }, removeOnFail: { age: 86_400 } } as const;
