/** A session on a Liveop server, as a worker reports to it and a viewer watches it. */
import {
  type Artifact,
  isTerminal,
  LIMITS,
  type MessageLevel,
  type MessageParams,
  type ProgressEvent,
  type Snapshot,
  type StageState,
  sessionActionUrl,
  sessionStreamUrl,
  sessionUrl,
} from '../protocol/index.ts';
import { LiveopClientError } from './errors.ts';
import { request } from './http.ts';
import type { ResolvedOptions } from './options.ts';
import { pipe } from './pipe.ts';
import { Reporter } from './reporter.ts';
import { shortenError, shortenLine, shortenMessage } from './shorten.ts';
import { type WatchOptions, watchStream } from './watch.ts';

/** What a RemoteSession is made from: a create answer, or an id and the tokens handed over. */
export interface SessionInit {
  id: string;
  streamUrl?: string | undefined;
  snapshotUrl?: string | undefined;
  viewerToken?: string | undefined;
  reporterToken?: string | undefined;
}

/** Where a status message goes, and how it is shown. */
export interface MessageOptions {
  /**
   * The task it is about: it becomes that task's message too (shown under its bar).
   *
   * @default undefined (the session's message only)
   * @example
   * ```ts
   * session.message('Row 4,500 of 10,000', { task: 'rows' });
   * ```
   */
  task?: string;
  /**
   * How it is shown.
   *
   * @default 'info'
   * @example
   * ```ts
   * session.message('The supplier feed is slow today', { level: 'warning' });
   * ```
   */
  level?: MessageLevel;
  /**
   * A translation key a page renders from its own catalogue (the text is the fallback), and its parameters.
   * @default undefined
   * @example
   * ```ts
   * session.message('Row 4,500 of 10,000', { key: 'import.row', params: { row: 4500, total: 10000 } });
   * ```
   */
  key?: string;
  params?: MessageParams;
}

/**
 * One session: report to it (buffered and batched, see `flush()`), read it,
 * watch it, cancel it. Made by `client.createSession()` or `client.session()`.
 *
 * Reports go with the reporter token (else the client's API key); reads and
 * watches with the viewer token (else the reporter token, else the API key).
 */
export class RemoteSession {
  readonly id: string;
  /** The session's stream, to hand to a viewer (with `viewerToken`). */
  readonly streamUrl: string;
  /** The session's snapshot, for polling. */
  readonly snapshotUrl: string;
  readonly viewerToken: string | undefined;
  readonly reporterToken: string | undefined;
  readonly #options: ResolvedOptions;
  readonly #paths: { events: string; cancel: string; snapshot: string; stream: string };
  readonly #cancel = new AbortController();
  readonly #reporter: Reporter;

  /** @internal Use `client.createSession()` or `client.session()`. */
  constructor(options: ResolvedOptions, init: SessionInit) {
    this.#options = options;
    this.id = init.id;
    const base = options.baseUrl;
    this.#paths = {
      events: sessionActionUrl(base, init.id, 'events'),
      cancel: sessionActionUrl(base, init.id, 'cancel'),
      snapshot: sessionUrl(base, init.id),
      stream: sessionStreamUrl(base, init.id),
    };
    this.streamUrl = init.streamUrl ?? this.#paths.stream;
    this.snapshotUrl = init.snapshotUrl ?? this.#paths.snapshot;
    this.viewerToken = init.viewerToken;
    this.reporterToken = init.reporterToken;
    this.#reporter = new Reporter({
      options,
      eventsUrl: this.#paths.events,
      credential: this.#reportCredential,
      cancelRequested: () => this.#cancelRequested(),
      hasEnded: () => this.#hasEnded(),
      failed: (error) => {
        try {
          options.onError(error, this.id);
        } catch {
          // a throwing onError must not stop the reporter
        }
      },
    });
  }

  /**
   * Aborted as soon as an events answer, a `snapshot()` or a watched snapshot
   * says a cancel was requested (its reason an `AbortError`). Pass it to the
   * work's `fetch` calls and loops, then report `cancelled()`.
   *
   * @example
   * ```ts
   * for (const row of rows) {
   *   if (session.cancelRequested.aborted) { session.cancelled(); break; }
   *   await fetch(row.url, { signal: session.cancelRequested });
   * }
   * ```
   */
  get cancelRequested(): AbortSignal {
    return this.#cancel.signal;
  }

  /** The task has started (any report also starts a pending task). */
  start(task: string): void {
    this.emit({ type: 'start', task });
  }

  /** The task is `value` percent done (0..100). Only the newest of a run of reports is sent. */
  percent(task: string, value: number): void {
    this.emit({ type: 'percent', task, value });
  }

  /** The task has done `done` of `total` steps. Only the newest of a run of reports is sent. */
  steps(task: string, done: number, total: number): void {
    this.emit({ type: 'steps', task, done, total });
  }

  /** The session's status message (and, with `task`, that task's). Past 2,000 characters it is shortened. */
  message(text: string, options: MessageOptions = {}): void {
    this.emit({ type: 'message', text: shortenMessage(text), ...options });
  }

  /** Appends lines to the session's log. Every line is sent, once, in order; one past 2,000 characters is shortened. */
  log(...lines: string[]): void {
    if (lines.length > 0) this.emit({ type: 'log', lines: lines.map(shortenLine) });
  }

  /** Appends a log line with a structured item beside it (a JSON object of up to 8 KiB), which a page may render through its own template. */
  item(line: string, data: Record<string, unknown>): void {
    this.emit({ type: 'log', line: shortenLine(line), data });
  }

  /** Appends text to the output stream `stream` (an answer token by token): every chunk is sent, once, in order. */
  output(stream: string, text: string): void {
    if (text === '') return;
    for (let at = 0; at < text.length; at += LIMITS.outputLength) {
      this.emit({ type: 'output', stream, text: text.slice(at, at + LIMITS.outputLength) });
    }
  }

  /** Appends one JSON chunk to the data stream `stream`. */
  outputData(stream: string, data: unknown): void {
    this.emit({ type: 'output', stream, data });
  }

  /**
   * Pipes an (async) iterable into the output stream `stream`: strings and bytes as text, anything
   * else as data chunks. Resolves once the source has ended and everything is sent.
   * @example await session.pipe('answer', llm.stream(prompt));
   */
  pipe(stream: string, source: Iterable<unknown> | AsyncIterable<unknown>): Promise<void> {
    return pipe(this, stream, source);
  }

  /** Enters a stage (the active one becomes `done`); with `state`, sets only that stage's state. */
  stage(name: string, state?: StageState): void {
    this.emit(state === undefined ? { type: 'stage', name } : { type: 'stage', name, state });
  }

  /** The task is complete. Send `result()` before (or with) the last one: the session ends with it. */
  complete(task: string, message?: string): void {
    this.emit(
      message === undefined ? { type: 'complete', task } : { type: 'complete', task, message: shortenMessage(message) },
    );
  }

  /** The task (or, without one, the session) failed: the session ends as `error`. Past 10,000 characters the message is shortened. */
  error(message: string, task?: string): void {
    const text = shortenError(message);
    this.emit(task === undefined ? { type: 'error', message: text } : { type: 'error', task, message: text });
  }

  /** The task is being tried again (shown as "retry N"). */
  retry(task: string, attempt: number, message?: string): void {
    const event = { type: 'retry', task, attempt } as const;
    this.emit(message === undefined ? event : { ...event, message: shortenMessage(message) });
  }

  /** The result and artifact links shown at the end. `data` is copied (as JSON) now. */
  result(data: unknown, artifacts?: Artifact[]): void {
    this.emit(artifacts === undefined ? { type: 'result', data } : { type: 'result', data, artifacts });
  }

  /** The work stopped on request: the session ends as `cancelled`. */
  cancelled(): void {
    this.emit({ type: 'cancelled' });
  }

  /** Ends this session and points its viewers at `nextId` (its reporter token is needed when this session reports with a token). */
  chain(nextId: string, nextReporterToken?: string): void {
    const token = nextReporterToken === undefined ? {} : { token: nextReporterToken };
    this.emit({ type: 'chain', next: nextId, ...token });
  }

  /** Alive, nothing new (sent by itself while idle; see `heartbeatMs`). */
  heartbeat(task?: string): void {
    this.emit(task === undefined ? { type: 'heartbeat' } : { type: 'heartbeat', task });
  }

  /**
   * Buffers raw protocol events, as the methods above do (but sent as they
   * are: nothing is shortened, and the server refuses a batch with an
   * event past its limits). Throws a
   * `TypeError` (and buffers nothing more) for an event that cannot be
   * encoded as JSON. Ignored once the session has ended or `close()` was called.
   */
  emit(...events: ProgressEvent[]): void {
    for (const event of events) this.#reporter.push(event);
  }

  /**
   * Sends every report buffered so far, now. Resolves once they are applied;
   * rejects with a `LiveopClientError` (`status`, `code`, `message`) when the
   * server refused one of their batches, when one got no answer after the
   * retries, or when an earlier batch failed that no `flush()` heard of.
   */
  flush(): Promise<void> {
    return this.#reporter.flush();
  }

  /** Flushes (rejecting like `flush()`), then stops the timers; later reports are ignored. */
  close(): Promise<void> {
    return this.#reporter.close();
  }

  /** The session now (`GET /sessions/:id`): its retained log tail, result, status. */
  async snapshot(): Promise<Snapshot> {
    const snapshot = await request<Snapshot>(this.#options, {
      method: 'GET',
      url: this.#paths.snapshot,
      credential: this.#viewCredential,
      repeatable: true,
      what: `GET ${new URL(this.#paths.snapshot).pathname}`,
    });
    if (snapshot.cancelRequested) this.#cancelRequested();
    return snapshot;
  }

  /**
   * Asks the work to stop (`POST /sessions/:id/cancel`): its reporter sees
   * `cancelRequested`. Needs the reporter token, a `view+cancel` viewer token
   * or the owner's API key.
   */
  async cancel(): Promise<void> {
    await request<unknown>(this.#options, {
      method: 'POST',
      url: this.#paths.cancel,
      credential: this.reporterToken ?? this.viewerToken ?? this.#options.apiKey,
      repeatable: true,
      what: `POST ${new URL(this.#paths.cancel).pathname}`,
    });
  }

  /**
   * The session's snapshots as they change, over its NDJSON stream: first
   * the current one, then one per visible change, ending after the terminal
   * one (`complete`, `error` or `cancelled`). A dropped connection is resumed
   * where it stopped — no change missed, no log line twice (each snapshot's
   * `logs` holds only lines not yielded before). Throws a `LiveopClientError`
   * when the session is deleted or expires (`code: 'gone'`), when the server
   * cannot serve it, for a `4xx`, or when reconnecting fails `retry.attempts`
   * times in a row. `signal` (or leaving the loop) stops it quietly.
   *
   * @example
   * ```ts
   * for await (const snapshot of session.watch()) {
   *   console.log(snapshot.percent, snapshot.logs.map((l) => l.line));
   * }
   * ```
   */
  watch(options: WatchOptions = {}): AsyncGenerator<Snapshot> {
    return watchStream(
      {
        options: this.#options,
        streamUrl: this.#paths.stream,
        credential: this.#viewCredential,
        seen: (snapshot) => {
          if (snapshot.cancelRequested) this.#cancelRequested();
        },
      },
      options,
    );
  }

  get #reportCredential(): string | undefined {
    return this.reporterToken ?? this.#options.apiKey;
  }

  get #viewCredential(): string | undefined {
    return this.viewerToken ?? this.reporterToken ?? this.#options.apiKey;
  }

  #cancelRequested(): void {
    if (!this.#cancel.signal.aborted) {
      this.#cancel.abort(new DOMException(`a cancel was requested for session ${this.id}`, 'AbortError'));
    }
  }

  /** After a `404`/`409`: has the session ended (or gone)? null when that cannot be told. */
  async #hasEnded(): Promise<boolean | null> {
    try {
      const snapshot = await request<Snapshot>(
        { ...this.#options, retry: { ...this.#options.retry, attempts: 1 } },
        {
          method: 'GET',
          url: this.#paths.snapshot,
          credential: this.#reportCredential,
          repeatable: true,
          what: 'GET session',
        },
      );
      if (snapshot.cancelRequested) this.#cancelRequested();
      return isTerminal(snapshot.status);
    } catch (error) {
      return error instanceof LiveopClientError && error.status === 404 ? true : null;
    }
  }
}
