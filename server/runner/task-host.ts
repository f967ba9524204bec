/**
 * Where in-process work runs: the sessions this process reports for (its
 * tasks, sequential and parallel), cancel requests heard from any instance
 * aborting their signals, and one attempt of a registered operation. Every
 * runner — inline, local, a BullMQ worker — runs operations here.
 *
 * It holds sessions weakly: a handle the caller dropped, whose tasks have all
 * settled, is collected with everything it held, so a process that runs
 * 100,000 small jobs a day does not grow with them. While a task runs, its
 * session is held strongly: a task waiting on nothing but its signal is
 * reachable from nothing else, and collected, its cancel would go unheard.
 */
import PQueue from 'p-queue';
import pRetry from 'p-retry';
import { isTerminal, type Snapshot } from '../../protocol/index.ts';
import { LiveopError } from '../core/errors.ts';
import type { SessionStore, StoreChange } from '../store/session-store.ts';
import { EventWriter, type Report } from './event-writer.ts';
import type { OperationRegistry } from './operations.ts';
import { type Attempt, ProgressSession } from './progress-session.ts';

export interface TaskHostOptions {
  /** Where cancel requests and deletions are heard (from any instance). */
  store: SessionStore;
  /** How a batch of events is applied (the sessions service). */
  report: Report;
  /** The session's current snapshot. */
  read: (id: string) => Promise<Snapshot | null>;
  /** Its snapshots as they change, ending after the terminal one. */
  watch: (id: string, signal: AbortSignal) => AsyncIterable<Snapshot>;
  /** Starts operation `name` as the session `from` chains to; answers its id. */
  startNext: (from: string, name: string, input: unknown) => Promise<string>;
  operations: OperationRegistry;
  /** Parallel tasks running at once, across sessions. @default 8 */
  concurrency?: number;
}

export class TaskHost {
  readonly #writer: EventWriter;
  readonly #parallel: PQueue;
  readonly #options: TaskHostOptions;
  /** Weakly: see the module comment. A FinalizationRegistry forgets the collected ones. */
  readonly #sessions = new Map<string, WeakRef<ProgressSession>>();
  readonly #forget = new FinalizationRegistry<string>((id) => {
    if (this.#sessions.get(id)?.deref() === undefined) this.#sessions.delete(id);
  });
  readonly #unsubscribe: () => void;
  /** Sessions with tasks under way, held strongly (see the module comment), with how many. */
  readonly #running = new Map<ProgressSession, number>();

  constructor(options: TaskHostOptions) {
    this.#options = options;
    this.#writer = new EventWriter({
      report: options.report,
      onWritten: (id, accepted) => {
        if (accepted.cancelRequested) this.abort(id);
      },
    });
    this.#parallel = new PQueue({ concurrency: options.concurrency ?? 8 });
    this.#unsubscribe = options.store.subscribe((change: StoreChange) => {
      if (change.cancelRequested || change.deleted) this.abort(change.id);
      if (change.deleted) this.#sessions.delete(change.id);
    });
  }

  /** The in-process handle of a session (one per session while anyone holds it). */
  session(id: string): ProgressSession {
    const held = this.#sessions.get(id)?.deref();
    if (held) return held;
    const session = new ProgressSession({
      id,
      writer: this.#writer,
      parallel: this.#parallel,
      read: () => this.#options.read(id),
      watch: (signal) => this.#options.watch(id, signal),
      startNext: (name, input) => this.#options.startNext(id, name, input),
      hold: (held) => this.#hold(held),
    });
    this.#sessions.set(id, new WeakRef(session));
    this.#forget.register(session, id);
    return session;
  }

  #hold(session: ProgressSession): () => void {
    this.#running.set(session, (this.#running.get(session) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#running.get(session) ?? 1) - 1;
      if (left === 0) this.#running.delete(session);
      else this.#running.set(session, left);
    };
  }

  /**
   * Runs one attempt of operation `name` for session `sessionId`, in its first
   * task. Resolves when it has ended (or was cancelled); rejects when it failed,
   * so a runner may try again.
   */
  async execute(name: string, sessionId: string, input: unknown, attempt: Attempt): Promise<void> {
    const definition = this.#options.operations.get(name);
    if (!definition) throw new Error(`operation "${name}" is not registered here`);
    // Cancelled (or deleted, or ended) while it waited: it never starts.
    const now = await this.#whenAvailable(() => this.#options.read(sessionId));
    if (now === null || isTerminal(now.status)) return;
    if (now.cancelRequested) {
      await this.#options.report(sessionId, [{ type: 'cancelled' }]);
      return;
    }
    const session = this.session(sessionId);
    const first = definition.tasks ? Object.keys(definition.tasks)[0]! : 'main';
    try {
      await session.runAttempt(
        first,
        (context) =>
          definition.run(
            {
              ...context,
              session,
              attempt: attempt.attempt,
              chainTo: (next, nextInput) => session.chainTo(next, nextInput),
            },
            input,
          ),
        attempt,
      );
    } catch (error) {
      if (session.signal.aborted) return; // cancelled: ended, not failed
      throw error;
    }
  }

  /**
   * Ends a session `error` with `message`, unless it has ended already: for a
   * runner whose queue gave a job up where no attempt could say so (its
   * worker lost on the last attempt).
   */
  async fail(sessionId: string, message: string): Promise<void> {
    const now = await this.#whenAvailable(() => this.#options.read(sessionId));
    if (now === null || isTerminal(now.status)) return;
    await this.#whenAvailable(() => this.#options.report(sessionId, [{ type: 'error', message }])).catch(
      (error: unknown) => {
        // Ended meanwhile (by its own last attempt, on another instance): nothing left to do.
        if (!(error instanceof LiveopError && error.kind === 'conflict')) throw error;
      },
    );
  }

  /**
   * Waits out a store that is briefly unavailable (Redis restarting or
   * paused: about 15 s of retries) rather than spending an attempt of the
   * operation on it, or leaving a given-up job's session unended.
   */
  #whenAvailable<T>(call: () => Promise<T>): Promise<T> {
    return pRetry(call, {
      retries: 10,
      minTimeout: 200,
      maxTimeout: 2_000,
      shouldRetry: ({ error }) => error instanceof LiveopError && error.kind === 'unavailable',
    });
  }

  /** Aborts the tasks of a session running in this process (no-op otherwise). */
  abort(id: string): void {
    this.#sessions.get(id)?.deref()?.abortTasks();
  }

  /** What it holds: sessions still referenced, and sessions with writes in hand (leak checks). */
  stats(): { sessions: number; writes: number } {
    let sessions = 0;
    for (const ref of this.#sessions.values()) if (ref.deref() !== undefined) sessions += 1;
    return { sessions, writes: this.#writer.size };
  }

  close(): void {
    this.#unsubscribe();
    for (const ref of this.#sessions.values()) ref.deref()?.abortTasks();
    this.#sessions.clear();
    this.#parallel.clear();
  }
}
