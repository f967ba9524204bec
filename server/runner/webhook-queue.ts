/**
 * The producer of webhook deliveries on BullMQ: the server queues each one on
 * a queue of its own, so a restart drops none and only the workers that
 * hold the webhook secret (server/runner/webhook-worker.ts) take them.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { connect } from './bullmq-connection.ts';
import { type BullmqOptions, KEEP_JOBS, queuesOf, type WebhookJob } from './bullmq-options.ts';

/** How a delivery is retried: attempts in all, exponential backoff from `delayMs`. */
export interface WebhookRetries {
  attempts: number;
  delayMs: number;
}

export class WebhookQueue {
  #queue: Promise<{ queue: Queue; redis: Redis }> | null = null;

  constructor(
    private readonly options: BullmqOptions,
    private readonly retries: WebhookRetries,
  ) {}

  /** Queues a delivery of `body` to `url` (connecting on the first). */
  async add(url: string, body: string): Promise<void> {
    this.#queue ??= (async () => {
      const { Queue } = await import('bullmq');
      const redis = await connect(this.options.url, false);
      const { webhooks, prefix } = queuesOf(this.options);
      return { queue: new Queue(webhooks, { connection: redis, prefix }), redis };
    })();
    const { queue } = await this.#queue;
    await queue.add('deliver', { url, body } satisfies WebhookJob, {
      attempts: this.retries.attempts,
      backoff: { type: 'exponential', delay: this.retries.delayMs },
      ...KEEP_JOBS,
    });
  }

  async close(): Promise<void> {
    const opened = await this.#queue?.catch(() => null);
    await opened?.queue.close();
    opened?.redis.disconnect();
  }
}
