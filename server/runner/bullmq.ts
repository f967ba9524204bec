/**
 * Operations on BullMQ workers, on the Redis Liveop already uses: the server
 * adds a job and answers at once; `liveop worker` processes (any number, on
 * any machines) run the same registered operations. A deploy or a crash of
 * the server loses nothing queued; a worker killed mid-run is found by
 * BullMQ's stalled-job check and its job runs again on another worker, the
 * session showing the next attempt.
 *
 * bullmq and ioredis are optional dependencies, loaded only when this runner
 * is asked for.
 */
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { AbortError } from 'p-retry';
import type { OperationRunner } from '../sessions/session-service.ts';
import { postWebhook, type WebhookOptions } from '../sessions/webhook.ts';
import type { Announce } from './dispatchers.ts';
import type { OperationRegistry } from './operations.ts';
import type { TaskHost } from './task-host.ts';

export interface BullmqOptions {
  /** The Redis BullMQ keeps its queue in (the sessions' Redis is fine). @example 'redis://127.0.0.1:6379' */
  url: string;
  /** BullMQ's key prefix, so several apps share one Redis. @default 'liveop' */
  prefix?: string;
  /** The queue's name. @default 'operations' */
  queue?: string;
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

/** BullMQ's lock and stalled-check timing that replaces a dead worker within `stalledMs` (see BullmqOptions). */
function stallTiming(stalledMs: number): { lockDuration: number; stalledInterval: number } {
  return { lockDuration: Math.round(stalledMs * 0.6), stalledInterval: Math.round(stalledMs * 0.3) };
}

interface JobData {
  sessionId: string;
  input: unknown;
}

/** The name of webhook deliveries on the queue (no operation may be named so: `:` is not allowed there). */
const WEBHOOK_JOB = 'liveop:webhook';
interface WebhookJob {
  url: string;
  body: string;
}

async function connect(url: string, forWorker: boolean): Promise<Redis> {
  const { Redis } = await import('ioredis');
  // Workers block on Redis: BullMQ asks for no per-command retry limit there.
  return new Redis(url, forWorker ? { maxRetriesPerRequest: null } : {});
}

/** The server's side: adds jobs, removes queued ones on cancel, tells waiting sessions their place. */
export class BullmqRunner implements OperationRunner {
  readonly #queue: Promise<{ queue: Queue; redis: Redis }>;
  readonly #told = new Map<string, number>();
  #placesTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly operations: OperationRegistry,
    options: BullmqOptions,
    private readonly announce: Announce,
  ) {
    this.#queue = (async () => {
      const { Queue } = await import('bullmq');
      const redis = await connect(options.url, false);
      const queue = new Queue(options.queue ?? 'operations', { connection: redis, prefix: options.prefix ?? 'liveop' });
      return { queue, redis };
    })();
    this.#queue.catch(() => {}); // surfaced by the first run()
  }

  spec(name: string) {
    return this.operations.get(name);
  }

  async run(name: string, sessionId: string, input: unknown): Promise<void> {
    const { queue } = await this.#queue;
    const definition = this.operations.get(name)!;
    const data: JobData = { sessionId, input };
    await queue.add(name, data, {
      jobId: sessionId,
      attempts: Math.max(1, definition.attempts ?? 1),
      backoff: { type: definition.backoff?.type ?? 'exponential', delay: definition.backoff?.delayMs ?? 1_000 },
      removeOnComplete: { age: 3_600 },
      removeOnFail: { age: 86_400 },
    });
    this.#watchPlaces();
  }

  /** Queues a webhook delivery: a worker sends it, BullMQ retries it (8 attempts, backoff from 1 s), a restart drops nothing. */
  async queueWebhook(url: string, body: string): Promise<void> {
    const { queue } = await this.#queue;
    await queue.add(WEBHOOK_JOB, { url, body } satisfies WebhookJob, {
      attempts: 8,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: { age: 3_600 },
      removeOnFail: { age: 86_400 },
    });
  }

  /** A job still waiting is taken off the queue, so it never starts; a running one hears the cancel itself. */
  async cancel(sessionId: string): Promise<void> {
    const { queue } = await this.#queue;
    const job = await queue.getJob(sessionId);
    if (!job) return;
    const state = await job.getState();
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
      await job.remove();
      await this.announce(sessionId, [{ type: 'cancelled' }]);
    }
  }

  /** While jobs wait, tells each session its place every two seconds (when it changed). */
  #watchPlaces(): void {
    if (this.#placesTimer) return;
    const tell = async () => {
      const { queue } = await this.#queue;
      // Oldest first (`asc`): first in, first out, the next to run leads.
      const order = (await queue.getJobs(['waiting'], 0, 499, true)).map((job) => job.id!);
      order.forEach((id, i) => {
        if (this.#told.get(id) === i + 1) return;
        this.#told.set(id, i + 1);
        void this.announce(id, [{ type: 'queued', position: i + 1 }]).catch(() => {});
      });
      for (const id of this.#told.keys()) if (!order.includes(id)) this.#told.delete(id);
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

export interface WorkerOptions extends BullmqOptions {
  /** Jobs this process runs at once. @default 4 */
  concurrency?: number;
  /** Told of each job it starts. @default nothing */
  log?: (message: string) => void;
  /** How to sign the webhook deliveries queued for workers. */
  webhooks?: WebhookOptions;
}

/**
 * A worker: runs queued operations in this process until closed. A job whose
 * session was cancelled while it waited ends at once, as `cancelled` (the
 * task host checks before it starts anything); a job
 * that throws is retried by BullMQ as its operation's `attempts` and
 * `backoff` say, each attempt shown on the session.
 *
 * A stall is an attempt too: every start counts (BullMQ's `attemptsStarted`),
 * a worker's death included, so an operation with `attempts: 3` outlives two
 * dead workers and not three. A job BullMQ gives up on — failed on its last
 * attempt, stalled past its limit, or found here to have no attempt left —
 * ends its session `error` at once (its `failed` event), hooks told.
 */
export async function startWorker(
  host: TaskHost,
  operations: OperationRegistry,
  options: WorkerOptions,
): Promise<{ close(): Promise<void> }> {
  const { UnrecoverableError, Worker } = await import('bullmq');
  const redis = await connect(options.url, true);
  const worker: Worker<JobData | WebhookJob> = new Worker<JobData | WebhookJob>(
    options.queue ?? 'operations',
    async (job) => {
      if (job.name === WEBHOOK_JOB) {
        const { url, body } = job.data as WebhookJob;
        if (!options.webhooks) throw new Error('this worker has no webhook secret (LIVEOP_WEBHOOK_SECRET)');
        // A 4xx answer is final (AbortError): BullMQ is told not to try again.
        await postWebhook(url, body, options.webhooks).catch((error: unknown) => {
          if (error instanceof AbortError) throw new UnrecoverableError(error.message);
          throw error;
        });
        return;
      }
      const { sessionId, input } = job.data as JobData;
      const definition = operations.get(job.name);
      if (!definition) throw new Error(`operation "${job.name}" is not registered on this worker`);
      // attemptsStarted counts every start, a stalled worker's restart too.
      const attempt = Math.max(1, job.attemptsStarted);
      const attempts = Math.max(1, definition.attempts ?? 1);
      if (attempt > attempts) {
        throw new UnrecoverableError(`the worker running attempt ${attempts} of ${attempts} was lost`);
      }
      options.log?.(`liveop: worker: ${job.name} for session ${sessionId}, attempt ${attempt}`);
      try {
        await host.execute(job.name, sessionId, input, { attempt, attempts });
      } catch (error) {
        // The session has already failed with it; BullMQ, counting failures but not stalls, might try again.
        if (attempt === attempts) throw new UnrecoverableError(error instanceof Error ? error.message : String(error));
        throw error;
      }
    },
    {
      connection: redis,
      prefix: options.prefix ?? 'liveop',
      concurrency: options.concurrency ?? 4,
      ...stallTiming(options.stalledMs ?? 30_000),
      // No lower than any operation's attempts allow: BullMQ then fails a job for its stalls only when its operation would.
      maxStalledCount: Math.max(0, ...operations.names().map((name) => (operations.get(name)?.attempts ?? 1) - 1)),
    },
  );
  worker.on('error', (error) => console.warn(`liveop: worker: ${error.message}`));
  worker.on('failed', (job, error) => {
    // A job to be tried again has not finished; a webhook's failure is its own.
    if (job === undefined || !job.finishedOn || job.name === WEBHOOK_JOB) return;
    const { sessionId } = job.data as JobData;
    host.fail(sessionId, `The job was given up: ${error.message}`).catch((failure: unknown) => {
      console.warn(`liveop: worker: session ${sessionId} could not be ended: ${String(failure)}`);
    });
  });
  await worker.waitUntilReady();
  return {
    close: async () => {
      await worker.close();
      redis.disconnect();
    },
  };
}
