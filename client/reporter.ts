/**
 * Sends one session's reports: buffered, one batch in flight at a time and
 * in order, each with its own `Idempotency-Key` kept across its retries;
 * heartbeats while idle; stops for good once the session has ended.
 */
import { type EventsAccepted, LIMITS, type ProgressEvent, SERVER_RESTARTED } from '../protocol/index.ts';
import { LiveopClientError } from './errors.ts';
import { type Batch, ENDING, EventBuffer } from './event-buffer.ts';
import { request } from './http.ts';
import type { ResolvedOptions } from './options.ts';
import { droppedError, refusesEvents, sendApart } from './refused-batch.ts';

type Timer = ReturnType<typeof setTimeout>;

/** What the reporter needs from its session. */
export interface ReporterContext {
  options: ResolvedOptions;
  eventsUrl: string;
  credential: string | undefined;
  /** An events answer (or the probe after a refusal) said a cancel was requested. */
  cancelRequested(): void;
  /** Whether the session has ended (or is gone), read after a `404`/`409`; null when that cannot be told. */
  hasEnded(): Promise<boolean | null>;
  /** A batch was refused or got no answer (onError). */
  failed(error: LiveopClientError): void;
}

interface Waiter {
  /** Settled once every report numbered up to this one is sent (or given up). */
  upTo: number;
  error: LiveopClientError | null;
  resolve(): void;
  reject(error: LiveopClientError): void;
}

export class Reporter {
  readonly #context: ReporterContext;
  readonly #buffer = new EventBuffer();
  #waiters: Waiter[] = [];
  #timer: Timer | null = null;
  #heartbeat: Timer | null = null;
  #sending = false;
  #lastSendAt = Number.NEGATIVE_INFINITY;
  /** Reported something: heartbeats are due from now on. */
  #active = false;
  /** The session has ended (or is gone), or close() was called: nothing more is sent. */
  #stopped = false;
  #closed = false;
  /** The session ended by a batch of ours (`error`, `cancelled`, `chain`): no more heartbeats. */
  #ended = false;
  /** A failure no flush() was waiting for: the next flush() or close() rejects with it. */
  #unreported: LiveopClientError | null = null;

  constructor(context: ReporterContext) {
    this.#context = context;
  }

  /** Buffers a report (ignored once the reporter has stopped or closed). */
  push(event: ProgressEvent): void {
    if (this.#stopped || this.#closed) return;
    this.#buffer.push(event);
    if (!this.#active) {
      this.#active = true;
      this.#armHeartbeat();
    }
    this.#schedule();
  }

  /** Resolves once every report so far is sent; rejects with the first refusal among them. */
  flush(): Promise<void> {
    if (this.#buffer.size === 0 && !this.#sending) return this.#settleNow();
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ upTo: this.#buffer.newest, error: null, resolve, reject });
      if (!this.#sending) this.#schedule(true);
    });
  }

  /** Flushes, then stops every timer; later reports are ignored. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      this.#stopTimers();
    }
  }

  #settleNow(): Promise<void> {
    const error = this.#unreported;
    this.#unreported = null;
    return error ? Promise.reject(error) : Promise.resolve();
  }

  /** Sends the buffer when the interval allows (at once when `now`). */
  #schedule(now = false): void {
    if (this.#sending || this.#stopped || this.#buffer.size === 0) return;
    if (this.#timer !== null && !now) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const wait = now ? 0 : Math.max(0, this.#lastSendAt + this.#context.options.flushIntervalMs - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#send();
    }, wait);
  }

  async #send(): Promise<void> {
    const { maxBatchBytes } = this.#context.options;
    const batch = this.#buffer.take({ maxEvents: LIMITS.eventsPerBatch, maxBytes: maxBatchBytes });
    if (batch === null || this.#stopped) return this.#settle(null, null);
    this.#sending = true;
    this.#lastSendAt = Date.now();
    let error: LiveopClientError | null = null;
    try {
      await this.#post(batch.body);
      if (batch.ends) this.#ended = true;
    } catch (caught) {
      error = await this.#refused(batch, caught);
    } finally {
      this.#sending = false;
    }
    this.#settle(batch, error);
  }

  /** Sends one batch (its JSON array), with its own `Idempotency-Key`. */
  async #post(body: string): Promise<void> {
    const answer = await request<EventsAccepted>(this.#context.options, {
      method: 'POST',
      url: this.#context.eventsUrl,
      credential: this.#context.credential,
      body,
      // The same key on every retry of this batch: the server applies it once.
      headers: { 'Idempotency-Key': idempotencyKey() },
      repeatable: true,
      what: `POST ${new URL(this.#context.eventsUrl).pathname}`,
    });
    if (answer?.cancelRequested) this.#context.cancelRequested();
  }

  /** What a failed batch means: an error to report (or null), and whether to stop. */
  async #refused(batch: Batch, caught: unknown): Promise<LiveopClientError | null> {
    const error =
      caught instanceof LiveopClientError
        ? caught
        : new LiveopClientError(String(caught), { status: null, code: 'client_error', cause: caught });
    // The server restarted and lost the session with its memory: nothing will ever be accepted again.
    if (error.code === SERVER_RESTARTED) {
      this.#stop();
      return error;
    }
    if (error.status === 404 || error.status === 409) {
      // An unknown or ended task is refused the same way as an ended or deleted session: ask.
      const ended = (await this.#context.hasEnded().catch(() => null)) ?? true;
      if (ended) {
        this.#stop();
        // A heartbeat refused after the session ended is no one's error.
        return batch.heartbeatsOnly ? null : error;
      }
    }
    return refusesEvents(error) && batch.events > 1 ? this.#sendApart(batch, error) : error;
  }

  /** Sends the events of a batch refused for some of them without those; an error naming the dropped ones. */
  async #sendApart(batch: Batch, refusal: LiveopClientError): Promise<LiveopClientError | null> {
    const events = JSON.parse(batch.body) as ProgressEvent[];
    try {
      const dropped = await sendApart(events, refusal, (part) => this.#post(JSON.stringify(part)));
      if (batch.ends && !dropped.some(({ event }) => ENDING.has(event.type))) this.#ended = true;
      return dropped.length > 0 ? droppedError(dropped, events.length) : null;
    } catch (caught) {
      return caught instanceof LiveopClientError ? caught : refusal;
    }
  }

  /** Nothing more is sent: what is buffered is dropped. */
  #stop(): void {
    this.#stopped = true;
    this.#buffer.clear();
    this.#stopTimers();
  }

  /** Settles the waiters the batch has answered for, reports its error, and schedules what is next. */
  #settle(batch: Batch | null, error: LiveopClientError | null): void {
    if (batch !== null && error !== null) {
      const told = this.#waiters.filter((w) => w.upTo >= batch.first);
      for (const waiter of told) waiter.error ??= error;
      if (told.length === 0) this.#unreported ??= error;
      this.#context.failed(error);
    }
    const oldest = this.#buffer.oldest;
    const done = this.#waiters.filter((w) => w.upTo < oldest || this.#stopped);
    this.#waiters = this.#waiters.filter((w) => !done.includes(w));
    for (const waiter of done) {
      if (waiter.error) waiter.reject(waiter.error);
      else waiter.resolve();
    }
    if (this.#buffer.size > 0) this.#schedule(this.#waiters.length > 0);
    else this.#armHeartbeat();
  }

  #armHeartbeat(): void {
    const { heartbeatMs } = this.#context.options;
    if (this.#heartbeat !== null) clearTimeout(this.#heartbeat);
    this.#heartbeat = null;
    if (heartbeatMs <= 0 || !this.#active || this.#stopped || this.#closed || this.#ended) return;
    this.#heartbeat = setTimeout(() => {
      this.#heartbeat = null;
      if (this.#sending || this.#buffer.size > 0) return; // a send is under way; it re-arms after
      this.#buffer.push({ type: 'heartbeat' });
      this.#schedule(true);
    }, heartbeatMs);
    // Heartbeats alone do not keep a Node process alive (other runtimes have no unref).
    (this.#heartbeat as { unref?: () => void }).unref?.();
  }

  #stopTimers(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#heartbeat !== null) clearTimeout(this.#heartbeat);
    this.#timer = this.#heartbeat = null;
  }
}

/** A new key for a batch: a UUID (`crypto.randomUUID` exists only in secure contexts, so a fallback). */
function idempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
