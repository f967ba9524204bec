/**
 * Runs in-process work: keeps the sessions this process runs, aborts their
 * tasks when a cancel request is heard (from any instance), and holds the
 * registry of named operations that `POST /operations/:name` starts.
 */
import PQueue from 'p-queue';
import type { z } from 'zod';
import type { SessionStore, StoreChange } from '../store/session-store';
import { EventWriter } from './event-writer';
import type { ProgressSession, TaskContext } from './progress-session';

export interface OperationDefinition<I = unknown> {
  /** Validates the JSON input (zod); invalid input answers 400 naming the field. */
  input?: z.ZodType<I>;
  title?: string | ((input: I) => string);
  tasks?: Record<string, string>;
  stages?: string[];
  /** Runs the operation; report through the context of its first task. */
  run: (context: OperationContext, input: I) => unknown | Promise<unknown>;
}

export interface OperationContext extends TaskContext {
  readonly session: ProgressSession;
}

export interface RunnerOptions {
  store: SessionStore;
  now: () => number;
  /** Parallel tasks running at once, across sessions. @default 8 */
  concurrency?: number;
}

export class Runner {
  readonly writer: EventWriter;
  readonly parallel: PQueue;
  readonly operations = new Map<string, OperationDefinition<unknown>>();
  readonly #sessions = new Map<string, ProgressSession>();
  readonly #unsubscribe: () => void;

  constructor(options: RunnerOptions) {
    this.writer = new EventWriter(options.store, options.now, (session) => {
      if (session.cancelRequested) this.abort(session.id);
    });
    this.parallel = new PQueue({ concurrency: options.concurrency ?? 8 });
    this.#unsubscribe = options.store.subscribe((change: StoreChange) => {
      if (change.cancelRequested || change.deleted) this.abort(change.id);
    });
  }

  /** Keeps a session that runs here, until its tasks are all done. */
  adopt(session: ProgressSession): ProgressSession {
    this.#sessions.set(session.id, session);
    return session;
  }

  release(id: string): void {
    this.#sessions.delete(id);
  }

  /** Aborts the tasks of a session running in this process (no-op otherwise). */
  abort(id: string): void {
    this.#sessions.get(id)?.cancelled();
  }

  register<I>(name: string, definition: OperationDefinition<I>): void {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`operation name "${name}": letters, digits, _ . - only`);
    this.operations.set(name, definition as unknown as OperationDefinition<unknown>);
  }

  close(): void {
    this.#unsubscribe();
    for (const session of this.#sessions.values()) session.cancelled();
    this.#sessions.clear();
    this.parallel.clear();
  }
}
