/**
 * One watcher per watched session per server instance: it hears the store's
 * change notifications, reads the session at most once per change (not at
 * all when the notification carries it), throttles to the hub's rate, and
 * while the session runs ticks at that rate so the eased percent keeps
 * moving. A new generation — one shared line — is made only when something
 * a viewer can see changed.
 */

import {
  isTerminal,
  type LogEntry,
  type Snapshot,
  type StreamErrorLine,
  type StreamLine,
} from '../../protocol/index.ts';
import type { StoredSession } from '../core/model.ts';
import { nextVisibleChangeAt } from '../core/next-change.ts';
import { outputEnds, outputsFor } from '../core/outputs.ts';
import { logsAfter, toSnapshot, visiblyDifferent } from '../core/snapshot.ts';
import type { SessionStore, StoreChange } from '../store/session-store.ts';

/** What a watcher needs of its hub. */
export interface WatcherContext {
  readonly store: SessionStore;
  readonly now: () => number;
  /** Milliseconds between two lines of one session, at least. */
  readonly intervalMs: number;
  /** Something changed for the connections watching `watcher`. */
  pending(watcher: Watcher): void;
  /** The session cannot be served; called once. */
  broken(id: string, error: unknown): void;
}

/**
 * One broadcast: the snapshot, its JSON made once (which also proves it can
 * be encoded), and a cache the transport fills with its framed bytes, so
 * every caught-up connection gets the same bytes.
 */
/** A generation's snapshot with the log lines after some cursor, as the hub hands it out. */
export interface CatchUpLine {
  line: StreamLine;
  json: string;
  shared: { readonly framed: Record<string, Uint8Array> };
}

/** Catch-up lines a generation keeps, by cursor: enough for the cursors in play, bounded. */
const CATCH_UPS_KEPT = 16;

/** Output ends of a session without output streams (shared, never changed). */
export const NO_OUTPUTS: Readonly<Record<string, number>> = Object.freeze({});

/** Whether two viewers stand at the same place in every output stream (a missing stream is at 0). */
export function sameOutputEnds(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  if (a === b) return true;
  for (const name in a) if ((a[name] ?? 0) !== (b[name] ?? 0)) return false;
  for (const name in b) if (!(name in a) && b[name] !== 0) return false;
  return true;
}

/** A catch-up line's cache key: the log cursor, and the output ends when there are any. */
function cursorKey(logSeq: number, outputs: Readonly<Record<string, number>>): number | string {
  const names = Object.keys(outputs);
  return names.length === 0 ? logSeq : `${logSeq} ${names.map((n) => `${n}=${outputs[n]}`).join(' ')}`;
}

export class Generation {
  readonly json: string;
  /** Framed bytes by transport format, filled by whoever frames them. */
  readonly framed: Record<string, Uint8Array> = {};
  /**
   * The generation is itself the line every caught-up subscription takes
   * (the hub's `HubLine`: `line`, `json`, `shared`), so handing it out
   * allocates nothing per connection.
   */
  readonly line: Snapshot;
  readonly shared: Generation = this;
  /** Lines for connections behind this generation, by their cursor (`Watcher.catchUp()` fills it). */
  readonly catchUps = new Map<number | string, CatchUpLine>();
  constructor(
    readonly snapshot: Snapshot,
    /** The log cursor a connection must have had for this line to be complete for it. */
    readonly logBase: number,
    readonly final: boolean,
    /** The output ends a connection must have had for this line to be complete for it. */
    readonly outputBase: Readonly<Record<string, number>> = NO_OUTPUTS,
    /** Each output stream's end once this line is received. */
    readonly outputEnds: Readonly<Record<string, number>> = NO_OUTPUTS,
  ) {
    this.line = snapshot;
    this.json = JSON.stringify(snapshot);
  }
}

export class Watcher {
  session: StoredSession | null = null;
  generation: Generation | null = null;
  /** Set when this session cannot be served: the line its viewers get instead. */
  broken: StreamErrorLine | null = null;
  /** The subscriptions watching it (the hub keeps this; the watcher only counts them). */
  readonly subscriptions = new Set<object>();
  #lastBroadcastAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = 0;
  #reading: Promise<void> | null = null;
  #readAgain = false;
  #gone = false;

  constructor(
    readonly id: string,
    private readonly hub: WatcherContext,
  ) {}

  get gone(): boolean {
    return this.#gone;
  }

  /** A change was heard: use the session it carries, or read it once. */
  changed(change: StoreChange): void {
    if (change.deleted) {
      this.#markGone();
    } else if (change.session) {
      if (this.session === null || change.session.version > this.session.version) this.session = change.session;
      this.schedule();
    } else if (this.session === null || change.version > this.session.version) {
      void this.refresh();
    }
  }

  /** Reads the session (coalescing concurrent requests), then schedules a broadcast. */
  refresh(): Promise<void> {
    if (this.#reading) {
      this.#readAgain = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      do {
        this.#readAgain = false;
        try {
          const session = await this.hub.store.get(this.id);
          if (session === undefined) {
            this.#markGone();
            return;
          }
          if (this.session === null || session.version >= this.session.version) this.session = session;
        } catch {
          // Store unavailable: keep streams open (heartbeats); the resync after reconnecting reads again.
          return;
        }
      } while (this.#readAgain);
      this.schedule();
    })().finally(() => {
      this.#reading = null;
    });
    return this.#reading;
  }

  /** Flushes after `delay` (default: as soon as the throttle allows); an earlier request wins. */
  schedule(delay?: number): void {
    if (this.#gone || this.broken !== null) return;
    const now = this.hub.now();
    const wait = Math.min(2 ** 31 - 1, Math.max(0, delay ?? this.#lastBroadcastAt + this.hub.intervalMs - now));
    const at = now + wait;
    if (this.#timer !== null) {
      if (this.#timerAt <= at) return;
      clearTimeout(this.#timer);
    }
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      try {
        this.#flush();
      } catch (error) {
        this.fail(error);
      }
    }, wait);
  }

  /**
   * This session cannot be served (its data cannot be snapshotted or
   * encoded): its viewers get an error line and their part of the stream
   * ends; the watcher stops.
   */
  fail(error: unknown): void {
    if (this.broken !== null) return;
    this.hub.broken(this.id, error);
    this.broken = {
      type: 'error',
      id: this.id,
      error: { code: 'internal_error', message: 'this session holds data the server cannot send; it was not streamed' },
    };
    this.stop();
    this.hub.pending(this);
  }

  /** Computes what viewers see now; broadcasts it if anything visible changed. */
  #flush(): void {
    const session = this.session;
    if (session === null || this.subscriptions.size === 0 || this.broken !== null) return;
    const now = this.hub.now();
    const previous = this.generation;
    const logBase = previous?.snapshot.logSeq ?? 0;
    const outputBase = previous?.outputEnds ?? NO_OUTPUTS;
    const snapshot = toSnapshot(session, now, { logAfter: logBase, outputAfter: outputBase });
    const final = isTerminal(snapshot.status);
    if (
      previous === null ||
      snapshot.logs.length > 0 ||
      snapshot.outputs !== undefined ||
      visiblyDifferent(previous.snapshot, snapshot)
    ) {
      const ends = session.outputs === undefined ? NO_OUTPUTS : outputEnds(session);
      this.generation = new Generation(snapshot, logBase, final, outputBase, ends);
      this.#lastBroadcastAt = now;
      this.hub.pending(this);
    }
    if (final) return;
    // Sleep until the snapshot can next look different: the next whole
    // percent of an eased bar, an ETA step, a stall, a deadline (dead worker,
    // cancel grace). A running session wakes at most at the throttle's rate.
    const wait = nextVisibleChangeAt(session, now) - now + 1;
    this.schedule(snapshot.status === 'running' ? Math.max(this.hub.intervalMs, wait) : wait);
  }

  /**
   * The line for a connection behind `generation` (its log cursor at
   * `logSeq`, its output ends at `outputs`): the snapshot with every log line
   * and all the output it lacks, made once for all the connections behind at
   * that cursor.
   */
  catchUp(generation: Generation, logSeq: number, outputs: Readonly<Record<string, number>> = NO_OUTPUTS): CatchUpLine {
    const key = cursorKey(logSeq, outputs);
    const kept = generation.catchUps.get(key);
    if (kept !== undefined) return kept;
    const { outputs: _, ...snapshot } = generation.snapshot;
    const lacking = this.session === null ? undefined : outputsFor(this.session, outputs, generation.outputEnds);
    const line: StreamLine = {
      ...snapshot,
      logs: this.logsAfter(logSeq, generation.snapshot.logSeq),
      ...(lacking === undefined ? {} : { outputs: lacking }),
    };
    const made = { line, json: JSON.stringify(line), shared: { framed: {} } };
    if (generation.catchUps.size < CATCH_UPS_KEPT) generation.catchUps.set(key, made);
    return made;
  }

  /** Log lines in (from, upTo]: never past the generation being sent, or the next one would repeat them. */
  logsAfter(from: number, upTo: number): LogEntry[] {
    if (this.session === null) return [];
    return logsAfter(this.session, from).filter((log) => log.seq <= upTo);
  }

  #markGone(): void {
    this.#gone = true;
    this.stop();
    this.hub.pending(this);
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
