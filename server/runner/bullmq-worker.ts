/**
 * The consumer of operation jobs: `liveop worker` (or `liveop.work()`) runs
 * the queued operations in this process until closed, through its task host.
 */
import type { Worker } from 'bullmq';
import { connect } from './bullmq-connection.ts';
import { type BullmqOptions, type OperationJob, queuesOf } from './bullmq-options.ts';
import { type OperationRegistry, retriesOf } from './operations.ts';
import type { TaskHost } from './task-host.ts';

export interface WorkerOptions extends BullmqOptions {
  /** Jobs this process runs at once. @default 4 */
  concurrency?: number;
  /** Told of each job it starts. @default nothing */
  log?: (message: string) => void;
}

/** BullMQ's lock and stalled-check timing that replaces a dead worker within `stalledMs` (see BullmqOptions). */
function stallTiming(stalledMs: number): { lockDuration: number; stalledInterval: number } {
  return { lockDuration: Math.round(stalledMs * 0.6), stalledInterval: Math.round(stalledMs * 0.3) };
}

/**
 * Runs queued operations in this process until closed. A job whose session
 * was cancelled while it waited ends at once, as `cancelled` (the task host
 * checks before it starts anything); a job that throws is retried by BullMQ
 * as its operation's `attempts` and `backoff` say, each attempt shown on the
 * session.
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
  const { operations: queue, prefix } = queuesOf(options);
  const worker: Worker<OperationJob> = new Worker<OperationJob>(
    queue,
    async (job) => {
      const { sessionId, input } = job.data;
      const definition = operations.get(job.name);
      if (!definition) throw new Error(`operation "${job.name}" is not registered on this worker`);
      // attemptsStarted counts every start, a stalled worker's restart too.
      const attempt = Math.max(1, job.attemptsStarted);
      const { attempts } = retriesOf(definition);
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
      prefix,
      concurrency: options.concurrency ?? 4,
      ...stallTiming(options.stalledMs ?? 30_000),
      // No lower than any operation's attempts allow: BullMQ then fails a job for its stalls only when its operation would.
      maxStalledCount: Math.max(0, ...operations.names().map((name) => retriesOf(operations.get(name)!).attempts - 1)),
    },
  );
  worker.on('error', (error) => console.warn(`liveop: worker: ${error.message}`));
  worker.on('failed', (job, error) => {
    // A job to be tried again has not finished.
    if (job === undefined || !job.finishedOn) return;
    const { sessionId } = job.data;
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
