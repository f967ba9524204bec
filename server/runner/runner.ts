/**
 * Runs in-process work: keeps the sessions this process runs, aborts their
 * tasks when a cancel request is heard (from any instance), and holds the
 * registry of named operations the sessions service starts
 * (`POST /operations/:name`, `liveop.start()`).
 */
import PQueue from 'p-queue';
import type { z } from 'zod';
import type { Snapshot } from '../protocol/index.ts';
import type { OperationRunner, OperationSpec } from '../sessions/session-service.ts';
import type { SessionStore, StoreChange } from '../store/session-store.ts';
import { EventWriter, type Report } from './event-writer.ts';
import { ProgressSession, type TaskContext } from './progress-session.ts';

export interface OperationDefinition<I = unknown> extends OperationSpec {
  /** Validates the JSON input (zod); invalid input is refused with 400 naming the field. */
  input?: z.ZodType<I>;
  /** The session's title; a function of the input, or the operation's name when left out. */
  title?: string | ((input: I) => string);
  /** The session's tasks, `{id: name}`; the run reports through the first. @default { main: title } */
  tasks?: Record<string, string>;
  stages?: string[];
  /** Runs the operation; report through the context of its first task. */
  run: (context: OperationContext, input: I) => unknown | Promise<unknown>;
}

export interface OperationContext extends TaskContext {
  readonly session: ProgressSession;
}

export interface RunnerOptions {
  /** Where cancel requests and deletions are heard (from any instance). */
  store: SessionStore;
  /** How a batch of events is applied (the sessions service). */
  report: Report;
  /** The session's current snapshot. */
  read: (id: string) => Promise<Snapshot | null>;
  /** Its snapshots as they change, ending after the terminal one. */
  watch: (id: string, signal: AbortSignal) => AsyncIterable<Snapshot>;
  /** Parallel tasks running at once, across sessions. @default 8 */
  concurrency?: number;
}

export class Runner implements OperationRunner {
  readonly #writer: EventWriter;
  readonly #parallel: PQueue;
  readonly #operations = new Map<string, OperationDefinition<unknown>>();
  readonly #sessions = new Map<string, ProgressSession>();
  readonly #options: RunnerOptions;
  readonly #unsubscribe: () => void;

  constructor(options: RunnerOptions) {
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
    });
  }

  register<I>(name: string, definition: OperationDefinition<I>): void {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`operation name "${name}": letters, digits, _ . - only`);
    this.#operations.set(name, definition as unknown as OperationDefinition<unknown>);
  }

  spec(name: string): OperationDefinition<unknown> | undefined {
    return this.#operations.get(name);
  }

  /** Runs a registered operation in the session just created for it; releases the session when it settles. */
  run(name: string, sessionId: string, input: unknown): void {
    const definition = this.#operations.get(name)!;
    const session = this.session(sessionId);
    const first = definition.tasks ? Object.keys(definition.tasks)[0]! : 'main';
    const handle = session.addSequential(first, (context) => definition.run({ ...context, session }, input));
    void handle.settled().then(() => this.release(sessionId));
  }

  /** The in-process handle of a session, kept here (so a cancel reaches its tasks) until released. */
  session(id: string): ProgressSession {
    let session = this.#sessions.get(id);
    if (!session) {
      session = new ProgressSession({
        id,
        writer: this.#writer,
        parallel: this.#parallel,
        read: () => this.#options.read(id),
        watch: (signal) => this.#options.watch(id, signal),
      });
      this.#sessions.set(id, session);
    }
    return session;
  }

  release(id: string): void {
    this.#sessions.delete(id);
  }

  /** Aborts the tasks of a session running in this process (no-op otherwise). */
  abort(id: string): void {
    this.#sessions.get(id)?.cancelled();
  }

  /** How many sessions and pending writes it holds (leak checks). */
  stats(): { sessions: number; writes: number } {
    return { sessions: this.#sessions.size, writes: this.#writer.size };
  }

  close(): void {
    this.#unsubscribe();
    for (const session of this.#sessions.values()) session.cancelled();
    this.#sessions.clear();
    this.#parallel.clear();
  }
}
