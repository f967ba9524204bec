/**
 * The producer of operation jobs: the server adds a job and answers at once;
 * `liveop worker` processes (server/runner/bullmq-worker.ts, any number, on
 * any machines) run them. A deploy or a crash of the server loses nothing
 * queued. This side also takes a cancelled job off the queue and tells
 * waiting sessions their place.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { OperationRunner } from '../sessions/session-service.ts';
import { connect } from './bullmq-connection.ts';
import { type BullmqOptions, KEEP_JOBS, type OperationJob, queuesOf } from './bullmq-options.ts';
import { type OperationRegistry, retriesOf } from './operations.ts';
import { type Announce, WaitingLine } from './waiting-line.ts';

export class BullmqRunner implements OperationRunner {
  readonly #queue: Promise<{ queue: Queue; redis: Redis }>;
  readonly #line: WaitingLine;
  #placesTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly operations: OperationRegistry,
    options: BullmqOptions,
    announce: Announce,
  ) {
    this.#line = new WaitingLine(announce);
    this.#queue = (async () => {
      const { Queue } = await import('bullmq');
      const redis = await connect(options.url, false);
      const { operations: name, prefix } = queuesOf(options);
      return { queue: new Queue(name, { connection: redis, prefix }), redis };
    })();
    this.#queue.catch(() => {}); // surfaced by the first run()
  }

  spec(name: string) {
    return this.operations.get(name);
  }

  async run(name: string, sessionId: string, input: unknown): Promise<void> {
    const { queue } = await this.#queue;
    const { attempts, backoff } = retriesOf(this.operations.get(name)!);
    await queue.add(name, { sessionId, input } satisfies OperationJob, {
      jobId: sessionId,
      attempts,
      backoff: { type: backoff.type, delay: backoff.delayMs },
      ...KEEP_JOBS,
    });
    this.#watchPlaces();
  }

  /** A job still waiting is taken off the queue, so it never starts; a running one hears the cancel itself. */
  async cancel(sessionId: string): Promise<void> {
    const { queue } = await this.#queue;
    const job = await queue.getJob(sessionId);
    if (!job) return;
    const state = await job.getState();
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
      await job.remove();
      await this.#line.leave(sessionId);
    }
  }

  /** While jobs wait, tells each session its place every two seconds (when it changed). */
  #watchPlaces(): void {
    if (this.#placesTimer) return;
    const tell = async () => {
      const { queue } = await this.#queue;
      // Oldest first (`asc`): first in, first out, the next to run leads.
      const order = (await queue.getJobs(['waiting'], 0, 499, true)).map((job) => job.id!);
      this.#line.tell(order);
      if (order.length === 0 && this.#placesTimer) {
        clearInterval(this.#placesTimer);
        this.#placesTimer = null;
      }
    };
    this.#placesTimer = setInterval(() => void tell().catch(() => {}), 2_000);
    this.#placesTimer.unref();
    void tell().catch(() => {});
  }

  async close(): Promise<void> {
    if (this.#placesTimer) clearInterval(this.#placesTimer);
    const { queue, redis } = await this.#queue.catch(() => ({ queue: null, redis: null }));
    await queue?.close();
    redis?.disconnect();
  }
}
