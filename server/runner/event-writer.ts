/**
 * Batches in-process reports: events pushed during one tick are written in
 * one batch per session (through the sessions service, like any reporter's),
 * and a run of percent reports for one task keeps only the newest (a loop
 * calling `percent()` a million times costs a handful of writes). Log lines
 * are never coalesced or dropped.
 *
 * A batch is atomic, so one refused event would take the others with it: a
 * refused batch is written again event by event, so whatever still applies
 * does, and what does not is logged — never dropped out of sight.
 */

import type { EventsAccepted, ProgressEvent } from '../../protocol/index.ts';
import { LiveopError } from '../core/errors.ts';
import { SessionNotFound, StoreUnavailable } from '../store/session-store.ts';

/** Applies a batch to a session the way every reporter's batch is applied (the sessions service). */
export type Report = (sessionId: string, events: ProgressEvent[]) => Promise<EventsAccepted>;

interface Pending {
  events: ProgressEvent[];
  waiters: (() => void)[];
  scheduled: boolean;
  retryMs: number;
}

export interface EventWriterOptions {
  report: Report;
  /** Told of every accepted batch (the runner aborts tasks when a cancel was requested). */
  onWritten?: (sessionId: string, accepted: EventsAccepted) => void;
  /** Where refused events are told. @default console.warn */
  log?: (message: string) => void;
}

export class EventWriter {
  readonly #pending = new Map<string, Pending>();
  readonly #report: Report;
  readonly #onWritten: (sessionId: string, accepted: EventsAccepted) => void;
  readonly #log: (message: string) => void;
  readonly #logged = new Set<string>();

  constructor(options: EventWriterOptions) {
    this.#report = options.report;
    this.#onWritten = options.onWritten ?? (() => {});
    this.#log = options.log ?? ((message) => console.warn(message));
  }

  push(sessionId: string, event: ProgressEvent): void {
    const pending = this.#entry(sessionId);
    const last = pending.events.at(-1);
    if (last && supersedes(event, last)) pending.events[pending.events.length - 1] = event;
    else pending.events.push(event);
    this.#schedule(sessionId, pending, 0);
  }

  /** Resolves once everything pushed for the session so far is written (or refused). */
  flush(sessionId: string): Promise<void> {
    const pending = this.#pending.get(sessionId);
    if (!pending) return Promise.resolve();
    return new Promise((resolve) => pending.waiters.push(resolve));
  }

  /** Sessions with writes in hand (for tests and leak checks). */
  get size(): number {
    return this.#pending.size;
  }

  #entry(sessionId: string): Pending {
    let pending = this.#pending.get(sessionId);
    if (!pending) {
      pending = { events: [], waiters: [], scheduled: false, retryMs: 250 };
      this.#pending.set(sessionId, pending);
    }
    return pending;
  }

  #schedule(sessionId: string, pending: Pending, delayMs: number): void {
    if (pending.scheduled) return;
    pending.scheduled = true;
    const write = () => void this.#write(sessionId, pending);
    if (delayMs === 0) setImmediate(write);
    else setTimeout(write, delayMs).unref();
  }

  async #write(sessionId: string, pending: Pending): Promise<void> {
    const events = pending.events;
    const waiters = pending.waiters;
    pending.events = [];
    pending.waiters = [];
    try {
      if (events.length > 0) await this.#apply(sessionId, events);
      pending.retryMs = 250;
    } catch (error) {
      if (error instanceof StoreUnavailable) {
        // Keep them, in order, and try again: a store blip must not lose progress.
        pending.events = events.concat(pending.events);
        pending.waiters = waiters.concat(pending.waiters);
        pending.scheduled = false;
        pending.retryMs = Math.min(pending.retryMs * 2, 5_000);
        return this.#schedule(sessionId, pending, pending.retryMs);
      }
      this.#log(`liveop: writing events for session ${sessionId} failed: ${String(error)}`);
    }
    pending.scheduled = false;
    for (const resolve of waiters) resolve();
    if (pending.events.length > 0) this.#schedule(sessionId, pending, 0);
    else if (pending.waiters.length === 0) this.#pending.delete(sessionId);
    else for (const resolve of pending.waiters.splice(0)) resolve();
  }

  /** Writes the batch; when it is refused, each event on its own, logging the refused ones. */
  async #apply(sessionId: string, events: ProgressEvent[]): Promise<void> {
    try {
      this.#onWritten(sessionId, await this.#report(sessionId, events));
      return;
    } catch (error) {
      if (!(error instanceof LiveopError) || error instanceof StoreUnavailable) throw error;
      if (events.length === 1 || error instanceof SessionNotFound) return this.#refused(sessionId, events, error);
    }
    for (const event of events) {
      try {
        this.#onWritten(sessionId, await this.#report(sessionId, [event]));
      } catch (error) {
        if (!(error instanceof LiveopError) || error instanceof StoreUnavailable) throw error;
        this.#refused(sessionId, [event], error);
        if (error instanceof SessionNotFound) return;
      }
    }
  }

  /** Logged once per session: a task that keeps reporting after its session ended would flood the log. */
  #refused(sessionId: string, events: ProgressEvent[], error: LiveopError): void {
    if (this.#logged.has(sessionId)) return;
    if (this.#logged.size >= 10_000) this.#logged.clear();
    this.#logged.add(sessionId);
    const types = events.map((e) => e.type).join(', ');
    this.#log(`liveop: session ${sessionId} refused ${events.length} in-process event(s) (${types}): ${error.message}`);
  }
}

/** A percent or steps report replaces the one just before it for the same task. */
function supersedes(event: ProgressEvent, last: ProgressEvent): boolean {
  const isReport = (e: ProgressEvent) => e.type === 'percent' || e.type === 'steps';
  return isReport(event) && isReport(last) && 'task' in event && 'task' in last && event.task === last.task;
}
