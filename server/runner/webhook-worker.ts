/**
 * The consumer of webhook deliveries: a worker holding the webhook secret
 * sends what the server queued (server/runner/webhook-queue.ts); BullMQ
 * retries a delivery that failed, and takes a final refusal as final.
 */
import type { Worker } from 'bullmq';
import { AbortError } from 'p-retry';
import { connect } from './bullmq-connection.ts';
import { type BullmqOptions, queuesOf, type WebhookJob } from './bullmq-options.ts';

/**
 * Sends one delivery, signed (the facade's, with the webhook secret):
 * throws to be tried again, or `AbortError` when the answer is final (a 4xx).
 */
export type DeliverWebhook = (url: string, body: string) => Promise<void>;

export async function startWebhookWorker(
  options: BullmqOptions,
  deliver: DeliverWebhook,
): Promise<{ close(): Promise<void> }> {
  const { UnrecoverableError, Worker } = await import('bullmq');
  const redis = await connect(options.url, true);
  const { webhooks, prefix } = queuesOf(options);
  const worker: Worker<WebhookJob> = new Worker<WebhookJob>(
    webhooks,
    async (job) => {
      await deliver(job.data.url, job.data.body).catch((error: unknown) => {
        if (error instanceof AbortError) throw new UnrecoverableError(error.message);
        throw error;
      });
    },
    { connection: redis, prefix },
  );
  worker.on('error', (error) => console.warn(`liveop: webhook worker: ${error.message}`));
  await worker.waitUntilReady();
  return {
    close: async () => {
      await worker.close();
      redis.disconnect();
    },
  };
}
