/**
 * The runners of registered operations in this process, chosen by
 * `createLiveop({ runner })`:
 * - `inline`: the caller awaits the whole run (tests, scripts, `runInTerminal`);
 * - `local` (the default): a queue in the server's own process, so `npm start`
 *   with no Redis still does everything; waiting sessions show their place.
 * BullMQ workers (server/runner/bullmq-runner.ts) are the third.
 *
 * Retries between attempts use p-retry (a maintained retry loop with backoff
 * and abort support) rather than a hand-made one.
 */
import PQueue from 'p-queue';
import pRetry, { AbortError } from 'p-retry';
import type { OperationRunner } from '../sessions/session-service.ts';
import { type OperationRegistry, retriesOf } from './operations.ts';
import type { TaskHost } from './task-host.ts';
import { type Announce, WaitingLine } from './waiting-line.ts';

/** Runs every attempt of an operation here, waiting `backoff` between them; stops at a cancel. */
async function runAllAttempts(
  host: TaskHost,
  operations: OperationRegistry,
  name: string,
  sessionId: string,
  input: unknown,
): Promise<void> {
  const { attempts, backoff } = retriesOf(operations.get(name)!);
  const session = host.session(sessionId);
  await pRetry(
    async (attempt) => {
      try {
        await host.execute(name, sessionId, input, { attempt, attempts });
      } catch (error) {
        if (session.signal.aborted) throw new AbortError(error instanceof Error ? error : String(error));
        throw error;
      }
    },
    {
      retries: attempts - 1,
      // The wait is the operation's own backoff: p-retry's timing set to exactly that.
      minTimeout: backoff.delayMs,
      factor: backoff.type === 'fixed' ? 1 : 2,
      randomize: false,
      signal: session.signal,
    },
  ).catch(() => {
    // The last attempt's failure is the session's `error` already; a cancel is `cancelled`.
  });
}

/** `inline`: `POST /operations/:name` (or `liveop.start()`) answers once the run has ended. */
export class InlineRunner implements OperationRunner {
  constructor(
    private readonly host: TaskHost,
    private readonly operations: OperationRegistry,
  ) {}

  spec(name: string) {
    return this.operations.get(name);
  }

  run(name: string, sessionId: string, input: unknown): Promise<void> {
    return runAllAttempts(this.host, this.operations, name, sessionId, input);
  }
}

/**
 * `local`: runs operations in this process, `concurrency` at a time; the
 * others wait in order, each session showing its place (`queued`).
 */
export class LocalRunner implements OperationRunner {
  readonly #queue: PQueue;
  /** Sessions waiting, first in line first. */
  readonly #waiting: string[] = [];
  readonly #line: WaitingLine;

  constructor(
    private readonly host: TaskHost,
    private readonly operations: OperationRegistry,
    announce: Announce,
    concurrency = 8,
  ) {
    this.#queue = new PQueue({ concurrency });
    this.#line = new WaitingLine(announce);
  }

  spec(name: string) {
    return this.operations.get(name);
  }

  async run(name: string, sessionId: string, input: unknown): Promise<void> {
    this.#waiting.push(sessionId);
    void this.#queue.add(async () => {
      const at = this.#waiting.indexOf(sessionId);
      if (at !== -1) this.#waiting.splice(at, 1);
      this.#line.tell(this.#waiting);
      await runAllAttempts(this.host, this.operations, name, sessionId, input);
    });
    // Still waiting after the queue took what it could: tell it where it stands.
    this.#line.tell(this.#waiting);
  }

  /** A session cancelled while it waits: out of the line at once. */
  async cancel(sessionId: string): Promise<void> {
    const at = this.#waiting.indexOf(sessionId);
    if (at === -1) return;
    this.#waiting.splice(at, 1);
    await this.#line.leave(sessionId);
    this.#line.tell(this.#waiting);
  }

  close(): void {
    this.#queue.clear();
  }
}
