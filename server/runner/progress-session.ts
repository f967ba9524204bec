/**
 * The in-process API, django-spire's ProgressSession in TypeScript: tasks
 * that run in this process report through a context, sequential tasks run
 * one at a time in order, parallel ones share a pool. In-process and
 * HTTP-reported sessions are the same sessions: this only writes events
 * through the store, like any reporter.
 */
import PQueue from 'p-queue';
import { LIMITS, type MessageLevel, type ProgressEvent, type Snapshot } from '../../protocol/index.ts';
import { LiveopError } from '../core/errors.ts';
import { describeIssues, eventSchema } from '../core/schemas.ts';
import type { EventWriter } from './event-writer.ts';

/** What a running task uses to report. */
export interface TaskContext {
  readonly taskId: string;
  /** Aborted when a viewer cancels the session. Pass it to fetch, streams, child processes. */
  readonly signal: AbortSignal;
  /** A real percent report, 0..100. Cheap: reports are coalesced and written once per tick. */
  percent(value: number): void;
  message(text: string, level?: MessageLevel): void;
  log(...lines: string[]): void;
  /**
   * Appends `text` to the session's output stream `stream` (an answer token by
   * token, a report row by row): viewers get what is new once per tick, a
   * late one the whole text so far.
   */
  output(stream: string, text: string): void;
  /** A log line carrying `data` (a JSON object), which a page's `<template slot="item">` renders field by field. */
  item(line: string, data: Record<string, unknown>): void;
  /** Runs `fn` as a named stage: active while it runs, done after, failed or cancelled if it throws. */
  stage<T>(name: string, fn: () => T | Promise<T>): Promise<T>;
  /**
   * Iterates and reports steps as it goes, checking for cancellation before
   * each item (liveops' `p.track`). `total` defaults to the items' `length`
   * (an array) or `size` (a `Set`, a `Map`); with neither, the count is
   * reported without one, as the task's message (`1,200 rows done`).
   * `label` is shown as the task's message, `unit` beside the count
   * (`4,500 / 10,000 rows`).
   * @example for await (const row of task.track(rows, { label: 'Importing', unit: 'rows' })) await save(row);
   */
  track<T>(
    items: Iterable<T> | AsyncIterable<T>,
    options?: { total?: number; label?: string; unit?: string },
  ): AsyncGenerator<T>;
  /** `done` of `total` steps, counting `unit`s (`rows`): shown as `done / total rows`. */
  steps(done: number, total: number, unit?: string): void;
  /** "Still alive" without progress: keeps the task from showing stalled. */
  heartbeat(): void;
  /** The session's result: shown by viewers when it completes. */
  result(data: unknown, artifacts?: { name: string; url?: string; text?: string }[]): void;
  /** Throws the cancel reason if the session was cancelled. */
  throwIfCancelled(): void;
}

export type TaskFunction<T, A extends unknown[]> = (context: TaskContext, ...args: A) => T | Promise<T>;

/** A task added to a session; `result()` re-throws what the task threw (django-spire's `.result`). */
export class TaskHandle<T> {
  readonly #settled: Promise<{ ok: true; value: T } | { ok: false; error: unknown }>;

  constructor(
    readonly taskId: string,
    run: Promise<T>,
  ) {
    this.#settled = run.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
  }

  async result(): Promise<T> {
    const outcome = await this.#settled;
    if (outcome.ok) return outcome.value;
    throw outcome.error;
  }

  /** Resolves when the task has ended, whatever the outcome. */
  async settled(): Promise<void> {
    await this.#settled;
  }
}

export class CancelledError extends Error {
  constructor() {
    super('The operation was cancelled.');
    this.name = 'CancelledError';
  }
}

export interface ProgressSessionDeps {
  id: string;
  writer: EventWriter;
  parallel: PQueue;
  /** Reads the session's current snapshot from the store. */
  read: () => Promise<Snapshot | null>;
  /** Streams its snapshots (from the hub, as objects). */
  watch: (signal: AbortSignal) => AsyncIterable<Snapshot>;
  /** Starts operation `name` as the session this one chains to (same owner); answers its id. */
  startNext?: (name: string, input: unknown) => Promise<string>;
  /**
   * Holds the session strongly while one of its tasks runs (answers the
   * release). A task may wait on nothing but its signal, and nothing else
   * would keep the session (and so the signal) from being collected.
   */
  hold?: (session: ProgressSession) => () => void;
}

/** An operation's run, as the runner hands it to the session: which attempt of how many. */
export interface Attempt {
  attempt: number;
  attempts: number;
}

export class ProgressSession {
  readonly id: string;
  readonly #deps: ProgressSessionDeps;
  readonly #sequential = new PQueue({ concurrency: 1 });
  readonly #abort = new AbortController();
  /** A task failed, which ended the session: the others are stopped without reporting. */
  #failed = false;
  /** A `chain` ended this session: its tasks are complete, so no `complete` follows. */
  #chained = false;

  constructor(deps: ProgressSessionDeps) {
    this.id = deps.id;
    this.#deps = deps;
  }

  /** Aborted when the session is cancelled. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Runs `fn` after the previously added sequential tasks, in order. */
  addSequential<T, A extends unknown[]>(taskId: string, fn: TaskFunction<T, A>, ...args: A): TaskHandle<T> {
    const run = this.#sequential.add(() => this.#run(taskId, (context) => fn(context, ...args))) as Promise<T>;
    return new TaskHandle(taskId, run);
  }

  /** Runs `work` on the shared pool (or tracks a promise already running). */
  addParallel<T>(taskId: string, work: Promise<T> | TaskFunction<T, []>): TaskHandle<T> {
    const run =
      typeof work === 'function'
        ? (this.#deps.parallel.add(() => this.#run(taskId, work)) as Promise<T>)
        : this.#run(taskId, () => work);
    return new TaskHandle(taskId, run);
  }

  start(taskId: string): void {
    this.#emit({ type: 'start', task: taskId });
  }

  complete(taskId: string, message?: string): void {
    this.#emit({ type: 'complete', task: taskId, ...(message === undefined ? {} : { message }) });
  }

  error(taskId: string | undefined, message: string): void {
    this.#emit({ type: 'error', ...(taskId === undefined ? {} : { task: taskId }), message });
  }

  /** Sends events as an HTTP reporter would. */
  emit(...events: ProgressEvent[]): void {
    for (const event of events) this.#emit(event);
  }

  /** Waits until every event so far is stored. */
  flush(): Promise<void> {
    return this.#deps.writer.flush(this.id);
  }

  async snapshot(): Promise<Snapshot> {
    await this.flush();
    const snapshot = await this.#deps.read();
    if (snapshot === null) throw new Error(`session ${this.id} is gone`);
    return snapshot;
  }

  /** Snapshots as they change, ending after the terminal one. */
  async *stream(options: { signal?: AbortSignal } = {}): AsyncGenerator<Snapshot> {
    const controller = new AbortController();
    options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
    try {
      yield* this.#deps.watch(controller.signal);
    } finally {
      controller.abort();
    }
  }

  /** Resolves with the terminal snapshot. */
  async done(): Promise<Snapshot> {
    let last: Snapshot | null = null;
    for await (const snapshot of this.stream()) last = snapshot;
    if (last === null) throw new Error(`session ${this.id} is gone`);
    return last;
  }

  /**
   * Ends this session by starting operation `name` (with `input`) as the next
   * one: viewers follow it (liveops' `chain_to`). Resolves with its id once
   * the chain is stored.
   */
  async chainTo(name: string, input: unknown = {}): Promise<string> {
    if (!this.#deps.startNext) throw new Error('chainTo: this session cannot start operations');
    await this.flush();
    const next = await this.#deps.startNext(name, input);
    this.#chained = true;
    this.#emit({ type: 'chain', next });
    await this.flush();
    return next;
  }

  /**
   * Runs one attempt of an operation as task `taskId` (the runners call this).
   * A later attempt starts with `retry` and a marker in the log; a failed one
   * that will be tried again says so and rethrows without ending the session;
   * the last one fails it as any task would.
   */
  async runAttempt<T>(
    taskId: string,
    fn: (context: TaskContext) => T | Promise<T>,
    { attempt, attempts }: Attempt,
  ): Promise<T> {
    if (attempt > 1) {
      this.#emit({ type: 'log', line: `— attempt ${attempt} of ${attempts} —` });
      this.#emit({ type: 'retry', task: taskId, attempt, message: `Retrying (${attempt} of ${attempts})` });
    }
    return this.#run(taskId, fn, attempt < attempts);
  }

  /** Aborts its tasks (with `CancelledError`): the runner calls it when a cancel request is heard. */
  abortTasks(): void {
    if (!this.#abort.signal.aborted) this.#abort.abort(new CancelledError());
  }

  /**
   * Every event is held to the limits an HTTP reporter's are (a LiveopError
   * names the field), here where the call is made: a task that logs a line
   * too long or returns a result too deep learns it at once, and nothing is
   * dropped later out of sight.
   */
  #emit(event: ProgressEvent): void {
    const parsed = eventSchema.safeParse(event);
    if (!parsed.success) throw new LiveopError('invalid', describeIssues(parsed.error, event.type));
    this.#push(parsed.data);
  }

  /** An event known to pass `eventSchema` (see `track`), pushed without parsing it again. */
  #push(event: ProgressEvent): void {
    this.#deps.writer.push(this.id, event);
  }

  async #run<T>(taskId: string, fn: (context: TaskContext) => T | Promise<T>, willRetry = false): Promise<T> {
    const signal = this.#abort.signal;
    if (signal.aborted) {
      if (!this.#failed) this.#emit({ type: 'cancelled' });
      throw signal.reason;
    }
    const release = this.#deps.hold?.(this);
    this.start(taskId);
    try {
      const value = await fn(this.#context(taskId));
      if (!this.#chained) this.complete(taskId);
      await this.flush();
      return value;
    } catch (error) {
      if (!signal.aborted && willRetry) {
        const message = error instanceof Error ? error.message : String(error);
        this.#emit({ type: 'log', line: `— failed: ${message.slice(0, 1_000)} —` });
        this.#emit({
          type: 'message',
          task: taskId,
          text: `Failed: ${message.slice(0, 500)}; will retry`,
          level: 'warning',
        });
        await this.flush();
        throw error;
      }
      // Stopped by a cancel: say so (once the session is cancelled, more `cancelled` change nothing).
      // Stopped because another task failed: the session has already ended with that error.
      if (signal.aborted && !this.#failed) this.#emit({ type: 'cancelled' });
      else if (!signal.aborted) {
        const detail =
          error instanceof Error && error.stack ? { detail: error.stack.slice(0, LIMITS.errorLength) } : {};
        const message = (error instanceof Error ? error.message : String(error)).slice(0, LIMITS.errorLength);
        this.#emit({ type: 'error', task: taskId, message: message || 'failed', ...detail });
      }
      await this.flush();
      // The session has failed and takes no more reports: stop its other tasks too.
      if (!signal.aborted) {
        this.#failed = true;
        this.#abort.abort(new CancelledError());
      }
      throw error;
    } finally {
      release?.();
    }
  }

  #context(taskId: string): TaskContext {
    const signal = this.#abort.signal;
    const emit = (event: ProgressEvent) => this.#emit(event);
    const push = (event: ProgressEvent) => this.#push(event);
    const throwIfCancelled = () => {
      if (signal.aborted) throw signal.reason;
    };
    return {
      taskId,
      signal,
      percent: (value) => emit({ type: 'percent', task: taskId, value: Math.max(0, Math.min(100, value)) }),
      steps: (done, total, unit) =>
        emit({ type: 'steps', task: taskId, done: Math.min(done, total), total, ...(unit ? { unit } : {}) }),
      message: (text, level = 'info') => emit({ type: 'message', task: taskId, text, level }),
      log: (...lines) => emit({ type: 'log', lines }),
      output: (stream, text) => emit({ type: 'output', stream, text }),
      item: (line, data) => emit({ type: 'log', line, data }),
      heartbeat: () => emit({ type: 'heartbeat', task: taskId }),
      result: (data, artifacts) => emit({ type: 'result', data, ...(artifacts ? { artifacts } : {}) }),
      throwIfCancelled,
      stage: async (name, fn) => {
        emit({ type: 'stage', name });
        try {
          const value = await fn();
          emit({ type: 'stage', name, state: 'done' });
          return value;
        } catch (error) {
          emit({ type: 'stage', name, state: signal.aborted ? 'cancelled' : 'failed' });
          throw error;
        }
      },
      track: async function* <T>(
        items: Iterable<T> | AsyncIterable<T>,
        options: { total?: number; label?: string; unit?: string } = {},
      ) {
        const total = options.total ?? countOf(items);
        const unit = options.unit ? { unit: options.unit } : {};
        if (options.label) emit({ type: 'message', task: taskId, text: options.label, level: 'info' });
        let done = 0;
        for await (const item of items) {
          throwIfCancelled();
          yield item;
          done += 1;
          // The first report is validated (total, unit and label are the caller's); the next ones differ
          // only in this loop's own count, so a million rows are validated once rather than a million
          // times to write the few the writer keeps.
          const send = done === 1 ? emit : push;
          if (total !== undefined && total > 0)
            send({ type: 'steps', task: taskId, done: Math.min(done, total), total, ...unit });
          else if (total === undefined) {
            const count = [done.toLocaleString('en'), options.unit, 'done'].filter(Boolean).join(' ');
            send({ type: 'message', task: taskId, text: options.label ? `${options.label} · ${count}` : count });
          }
        }
      },
    };
  }
}

/** How many items there are, when the iterable tells without being read: its `length` (an array) or `size` (a Set, a Map). */
function countOf(items: unknown): number | undefined {
  const { length, size } = items as { length?: unknown; size?: unknown };
  return typeof length === 'number' ? length : typeof size === 'number' ? size : undefined;
}
