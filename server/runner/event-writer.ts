/**
 * Batches in-process reports: events pushed during one tick are written in
 * one store update per session, and a run of percent reports for one task
 * keeps only the newest (a loop calling `percent()` a million times costs a
 * handful of writes). Log lines are never coalesced or dropped.
 */

import { LiveopError } from '../core/errors';
import type { StoredSession } from '../core/model';
import { applyEvents } from '../core/reducer';
import type { ProgressEvent } from '../protocol';
import { type SessionStore, StoreUnavailable } from '../store/session-store';

interface Pending {
  events: ProgressEvent[];
  waiters: (() => void)[];
  scheduled: boolean;
  retryMs: number;
}

export class EventWriter {
  readonly #pending = new Map<string, Pending>();

  constructor(
    private readonly store: SessionStore,
    private readonly now: () => number,
    private readonly onWritten: (session: StoredSession) => void = () => {},
  ) {}

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
      if (events.length > 0) {
        const session = await this.store.update(sessionId, (s) => applyEvents(s, events, this.now()));
        this.onWritten(session);
      }
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
      // The session ended (e.g. cancelled) or is gone: late reports have nowhere to go.
      if (!(error instanceof LiveopError) && !(error instanceof Error && error.name === 'SessionNotFound')) {
        console.error(`liveop: writing events for ${sessionId} failed`, error);
      }
    }
    pending.scheduled = false;
    for (const resolve of waiters) resolve();
    if (pending.events.length > 0) this.#schedule(sessionId, pending, 0);
    else if (pending.waiters.length === 0) this.#pending.delete(sessionId);
    else for (const resolve of pending.waiters.splice(0)) resolve();
  }
}

/** A percent or steps report replaces the one just before it for the same task. */
function supersedes(event: ProgressEvent, last: ProgressEvent): boolean {
  const isReport = (e: ProgressEvent) => e.type === 'percent' || e.type === 'steps';
  return isReport(event) && isReport(last) && 'task' in event && 'task' in last && event.task === last.task;
}
