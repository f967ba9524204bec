/**
 * Named operations: what `POST /operations/:name` and `liveop.start()` run,
 * on whichever runner (inline, local or BullMQ workers). The code of an
 * operation is the same under every runner; a module that registers them is
 * loaded by the server and by the workers alike.
 */
import type { z } from 'zod';
import type { Snapshot } from '../../protocol/index.ts';
import type { OperationSpec } from '../sessions/session-service.ts';
import type { ProgressSession, TaskContext } from './progress-session.ts';

export interface OperationDefinition<I = unknown> extends OperationSpec {
  /** Validates the JSON input (zod); invalid input is refused with 400 naming the field. */
  input?: z.ZodType<I>;
  /** The session's title; a function of the input, or the operation's name when left out. */
  title?: string | ((input: I) => string);
  /** The session's tasks, `{id: name}`; the run reports through the first. @default { main: title } */
  tasks?: Record<string, string>;
  stages?: string[];
  /**
   * Attempts in all: a run that throws is tried again until this many have
   * failed (the session shows `retry` and the attempt; its log keeps every
   * attempt's lines, with a marker between them). A cancel is never retried.
   * On BullMQ workers a worker that died counts as an attempt too.
   * @default 1
   */
  attempts?: number;
  /**
   * The wait before each new attempt: `delayMs`, doubling each time
   * (`exponential`) or the same each time (`fixed`).
   * @default { type: 'exponential', delayMs: 1000 }
   */
  backoff?: { type: 'exponential' | 'fixed'; delayMs: number };
  /** Runs the operation; report through the context of its first task. */
  run: (context: OperationContext, input: I) => unknown | Promise<unknown>;
  /**
   * Called once a session of this operation has ended, whatever the outcome,
   * with its final snapshot (django-user-tasks' `user_task_stopped`). What it
   * throws is logged; it never changes the session.
   */
  onFinish?: (snapshot: Snapshot) => void | Promise<void>;
}

export interface OperationContext extends TaskContext {
  readonly session: ProgressSession;
  /** Which attempt this is (1 for the first). */
  readonly attempt: number;
  /**
   * Ends this session and starts operation `name` with `input` as the next
   * one (liveops' `chain_to`): viewers follow it without a page reload.
   * Resolves with the next session's id.
   */
  chainTo(name: string, input?: unknown): Promise<string>;
}

export class OperationRegistry {
  readonly #operations = new Map<string, OperationDefinition<unknown>>();

  register<I>(name: string, definition: OperationDefinition<I>): void {
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(name)) throw new Error(`operation name "${name}": letters, digits, _ . - only`);
    this.#operations.set(name, definition as unknown as OperationDefinition<unknown>);
  }

  get(name: string): OperationDefinition<unknown> | undefined {
    return this.#operations.get(name);
  }

  names(): string[] {
    return [...this.#operations.keys()];
  }
}

/** How an operation is retried when its definition leaves it out, decided here for every runner. */
export const OPERATION_DEFAULTS = {
  attempts: 1,
  backoff: { type: 'exponential', delayMs: 1_000 },
} as const satisfies Required<Pick<OperationDefinition, 'attempts' | 'backoff'>>;

/** An operation's attempts (at least one) and backoff, its defaults filled in. */
export function retriesOf(definition: Pick<OperationDefinition, 'attempts' | 'backoff'>): {
  attempts: number;
  backoff: NonNullable<OperationDefinition['backoff']>;
} {
  return {
    attempts: Math.max(1, definition.attempts ?? OPERATION_DEFAULTS.attempts),
    backoff: definition.backoff ?? OPERATION_DEFAULTS.backoff,
  };
}
