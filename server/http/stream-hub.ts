/**
 * Fans session changes out to open streams.
 *
 * - One watcher per watched session per server instance: it hears the
 *   store's change notifications, reads the session at most once per change
 *   (not at all when the notification carries it), throttles to
 *   `throttleHz`, and while the session runs ticks at that rate so the eased
 *   percent keeps moving — a line goes out only when something visible
 *   changed.
 * - Each broadcast is a generation: its line is encoded once and the same
 *   bytes go to every connection that is caught up. A connection that fell
 *   behind (slow reader, new, resuming) gets one line made for it from the
 *   latest state with every log line it has not seen: a slow client gets the
 *   newest state, never a queue of old ones, and never loses a log line.
 * - Streams are pull-based `ReadableStream`s: nothing is enqueued until the
 *   socket wants more, so a slow reader costs one pending flag, not a buffer.
 * - One hub-wide interval writes heartbeats after `heartbeatMs` of silence;
 *   there are no per-connection timers.
 */

import type { StoredSession } from '../core/model';
import { logSeqAtVersion, logsAfter, toSnapshot } from '../core/snapshot';
import { encodeLine, isTerminal, type Snapshot, type StreamErrorLine, type StreamLine } from '../protocol';
import type { SessionStore, StoreChange } from '../store/session-store';
import { reportUnservable } from './unservable';

export interface StreamHubOptions {
  store: SessionStore;
  now?: () => number;
  /** At most this many lines a second per session. @default 10 */
  throttleHz?: number;
  /** A heartbeat line after this much silence. @default 15000 */
  heartbeatMs?: number;
}

export type StreamFormat = 'ndjson' | 'sse';

export interface StreamRequest {
  sessionIds: string[];
  format: StreamFormat;
  /** Resume: the last version the client has (log cursor derived from it). */
  after?: number;
  /** Resume: the last log seq the client has (wins over `after`'s). */
  logAfter?: number;
  /** Per-session resume cursors, for multiplexed streams (win over `after` / `logAfter`). */
  cursors?: Record<string, { after?: number; logAfter?: number }>;
  /** The request's signal: the stream is released the moment the client goes away. */
  signal?: AbortSignal;
  /**
   * Instead of `signal`: registers a callback for when the client goes away
   * (e.g. the Node response's `close`), which spares an AbortController per stream.
   */
  closed?: (listener: () => void) => void;
}

const HEARTBEAT = encodeLine({ type: 'heartbeat' });
const textEncoder = new TextEncoder();
const RECONNECT: Record<StreamFormat, Uint8Array> = {
  ndjson: encodeLine({ type: 'reconnect' }),
  sse: sseEvent({ type: 'reconnect' }),
};

/** One broadcast: the shared line, encoded once (which also proves it can be), as bytes per format on demand. */
class Generation {
  readonly #json: string;
  #ndjson: Uint8Array | null = null;
  #sse: Uint8Array | null = null;
  constructor(
    readonly snapshot: Snapshot,
    /** Log cursor a connection must have had for this line to be complete for it. */
    readonly logBase: number,
    readonly final: boolean,
  ) {
    this.#json = JSON.stringify(snapshot);
  }

  bytes(format: StreamFormat): Uint8Array {
    if (format === 'ndjson') {
      this.#ndjson ??= textEncoder.encode(`${this.#json}\n`);
      return this.#ndjson;
    }
    this.#sse ??= textEncoder.encode(`id: ${this.snapshot.version}\ndata: ${this.#json}\n\n`);
    return this.#sse;
  }
}

function sseEvent(line: StreamLine): Uint8Array {
  const id = line.type === 'snapshot' ? `id: ${line.version}\n` : '';
  return textEncoder.encode(`${id}data: ${JSON.stringify(line)}\n\n`);
}

const encodeFor = (format: StreamFormat, line: StreamLine): Uint8Array =>
  format === 'ndjson' ? encodeLine(line) : sseEvent(line);

/** What one connection knows of one session. */
interface Subscription {
  watcher: Watcher;
  /** Last log seq this connection has received. */
  logSeq: number;
  /** The generation it last received (null: none yet). */
  generation: Generation | null;
  pending: boolean;
  done: boolean;
  gone: boolean;
}

class Connection {
  readonly subscriptions = new Map<string, Subscription>();
  lastWriteAt: number;
  heartbeatDue = false;
  closing: Uint8Array | null = null;
  #controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  /** The socket asked for a chunk (pull) and has not had one yet: the next notify() answers it. */
  #wanted = false;
  #closed = false;
  readonly stream: ReadableStream<Uint8Array>;

  constructor(
    readonly format: StreamFormat,
    private readonly onClose: (connection: Connection) => void,
  ) {
    this.lastWriteAt = Date.now();
    // highWaterMark 0: pull() runs only when the socket has drained and wants more.
    // pull() only raises a flag; notify() answers it at once, in the watcher's own
    // loop: no promise, closure or microtask hop per line (the fan-out profile had
    // them among the largest costs after the syscalls and GC).
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => {
          this.#wanted = true;
          this.#deliver();
        },
        cancel: () => this.close(),
      },
      { highWaterMark: 0 },
    );
  }

  notify(): void {
    if (this.#wanted) this.#deliver();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.notify();
    this.onClose(this);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Answers an outstanding pull with everything pending, if anything is.
   * Runs in timers and stream callbacks: nothing may throw out of it, so a
   * failure here ends this connection only, never the process.
   */
  #deliver(): void {
    try {
      this.#deliverPending();
    } catch (error) {
      console.error('liveop: a stream connection failed and was closed', error);
      this.#wanted = false;
      try {
        this.#controller?.error(error);
      } catch {
        // already closed
      }
      this.close();
    }
  }

  #deliverPending(): void {
    const controller = this.#controller!;
    if (this.closing) {
      this.#wanted = false;
      controller.enqueue(this.closing);
      controller.close();
      this.close();
      return;
    }
    if (this.#closed) {
      this.#wanted = false;
      controller.close();
      return;
    }
    const chunk = this.#render();
    if (!chunk) return;
    this.#wanted = false;
    controller.enqueue(chunk);
    this.lastWriteAt = Date.now();
    if (this.#allDone()) {
      controller.close();
      this.close();
    }
  }

  #allDone(): boolean {
    for (const sub of this.subscriptions.values()) if (!sub.done) return false;
    return true;
  }

  /** Everything pending, as one chunk (or null when nothing is). */
  #render(): Uint8Array | null {
    const parts: Uint8Array[] = [];
    for (const [id, sub] of this.subscriptions) {
      if (!sub.pending || sub.done) continue;
      sub.pending = false;
      if (sub.gone) {
        parts.push(encodeFor(this.format, { type: 'gone', id }));
        sub.done = true;
        continue;
      }
      if (sub.watcher.broken !== null) {
        parts.push(encodeFor(this.format, sub.watcher.broken));
        sub.done = true;
        continue;
      }
      const generation = sub.watcher.generation;
      if (generation === null || generation === sub.generation) continue;
      if (generation.logBase === sub.logSeq) {
        parts.push(generation.bytes(this.format));
      } else {
        // Behind (or new): a line of its own, with every log line it lacks.
        let line: Uint8Array;
        try {
          const logs = sub.watcher.logsAfter(sub.logSeq, generation.snapshot.logSeq);
          line = encodeFor(this.format, { ...generation.snapshot, logs });
        } catch (error) {
          sub.watcher.fail(error);
          parts.push(encodeFor(this.format, sub.watcher.broken!));
          sub.done = true;
          continue;
        }
        parts.push(line);
      }
      sub.generation = generation;
      sub.logSeq = generation.snapshot.logSeq;
      if (generation.final) sub.done = true;
    }
    if (parts.length === 0 && this.heartbeatDue)
      parts.push(this.format === 'ndjson' ? HEARTBEAT : sseEvent({ type: 'heartbeat' }));
    this.heartbeatDue = false;
    if (parts.length === 0) return null;
    if (parts.length === 1) return parts[0]!;
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let offset = 0;
    for (const part of parts) {
      joined.set(part, offset);
      offset += part.byteLength;
    }
    return joined;
  }
}

class Watcher {
  readonly connections = new Set<Connection>();
  session: StoredSession | null = null;
  generation: Generation | null = null;
  #lastBroadcastAt = 0;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = 0;
  #reading: Promise<void> | null = null;
  #readAgain = false;
  #gone = false;
  /** Set when this session cannot be served: the line its viewers get instead. */
  broken: StreamErrorLine | null = null;

  constructor(
    readonly id: string,
    private readonly hub: StreamHub,
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
    if (this.#gone) return;
    const wait = delay ?? Math.max(0, this.#lastBroadcastAt + this.hub.intervalMs - this.hub.now());
    const at = Date.now() + wait;
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
   * ends; the watcher stops. Logged once.
   */
  fail(error: unknown): void {
    if (this.broken !== null) return;
    reportUnservable(this.id, error);
    this.broken = {
      type: 'error',
      id: this.id,
      error: { code: 'internal_error', message: 'this session holds data the server cannot send; it was not streamed' },
    };
    this.stop();
    for (const connection of this.connections) {
      const sub = connection.subscriptions.get(this.id);
      if (sub && !sub.done) sub.pending = true;
      connection.notify();
    }
  }

  /** Computes what viewers see now; broadcasts it if anything visible changed. */
  #flush(): void {
    if (this.broken !== null) return;
    const session = this.session;
    if (session === null || this.connections.size === 0) return;
    const now = this.hub.now();
    const previous = this.generation;
    const logBase = previous?.snapshot.logSeq ?? 0;
    const snapshot = toSnapshot(session, now, { logAfter: logBase });
    const final = isTerminal(snapshot.status); // the status toSnapshot just computed
    if (previous === null || snapshot.logs.length > 0 || visiblyDifferent(previous.snapshot, snapshot)) {
      this.generation = new Generation(snapshot, logBase, final);
      this.#lastBroadcastAt = now;
      for (const connection of this.connections) {
        const sub = connection.subscriptions.get(this.id);
        if (sub) sub.pending = true;
        connection.notify();
      }
    }
    if (final) return;
    // Keep the bars moving while anything runs; otherwise wake for the
    // time-based verdicts (dead worker, cancel grace) and nothing else.
    if (snapshot.status === 'running') {
      this.schedule(this.hub.intervalMs);
      return;
    }
    const deadlines = [session.lastEventAt + session.options.deadAfterMs];
    if (session.cancelRequestedAt !== null) deadlines.push(session.cancelRequestedAt + session.options.cancelGraceMs);
    this.schedule(Math.min(2 ** 31 - 1, Math.max(0, Math.min(...deadlines) - now + 1)));
  }

  /** Log lines in (from, upTo]: never past the generation being sent, or the next one would repeat them. */
  logsAfter(from: number, upTo: number): Snapshot['logs'] {
    if (this.session === null) return [];
    return logsAfter(this.session, from).filter((log) => log.seq <= upTo);
  }

  #markGone(): void {
    this.#gone = true;
    this.stop();
    for (const connection of this.connections) {
      const sub = connection.subscriptions.get(this.id);
      if (sub && !sub.done) {
        sub.gone = true;
        sub.pending = true;
      }
      connection.notify();
    }
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** Lines differ in what a viewer can see (ignoring logs, which are compared apart). */
function visiblyDifferent(a: Snapshot, b: Snapshot): boolean {
  if (a.version !== b.version || a.status !== b.status || a.percent !== b.percent || a.etaMs !== b.etaMs) return true;
  if (a.tasks.length !== b.tasks.length) return true;
  for (let i = 0; i < a.tasks.length; i++) {
    const x = a.tasks[i]!;
    const y = b.tasks[i]!;
    if (x.percent !== y.percent || x.status !== y.status || x.stalled !== y.stalled || x.simulated !== y.simulated) {
      return true;
    }
    if (x.etaMs !== y.etaMs) return true;
  }
  return a.stages.some((s, i) => s.state !== b.stages[i]?.state) || a.finishedAt !== b.finishedAt;
}

export class StreamHub {
  readonly store: SessionStore;
  readonly now: () => number;
  readonly intervalMs: number;
  readonly #heartbeatMs: number;
  readonly #watchers = new Map<string, Watcher>();
  readonly #connections = new Set<Connection>();
  readonly #unsubscribe: () => void;
  #heartbeat: NodeJS.Timeout | null = null;

  constructor(options: StreamHubOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.intervalMs = 1000 / (options.throttleHz ?? 10);
    this.#heartbeatMs = options.heartbeatMs ?? 15_000;
    this.#unsubscribe = this.store.subscribe(
      (change) => this.#watchers.get(change.id)?.changed(change),
      () => {
        // Notifications may have been missed: everyone re-reads what they watch.
        for (const watcher of this.#watchers.values()) void watcher.refresh();
      },
    );
  }

  /**
   * Opens a stream of the given sessions. The caller has checked that they
   * exist and that the viewer may see them. Resolves once the first lines
   * are ready (so a missing session answers 404 rather than an empty stream).
   */
  async open(request: StreamRequest): Promise<ReadableStream<Uint8Array>> {
    const connection = new Connection(request.format, (c) => this.#release(c));
    // Besides the stream's cancel(): Node may not cancel it on every disconnect (honojs/hono#1770, #2068).
    request.signal?.addEventListener('abort', () => connection.close(), { once: true });
    request.closed?.(() => connection.close());
    for (const id of request.sessionIds) {
      const watcher = this.#watch(id);
      watcher.connections.add(connection);
      connection.subscriptions.set(id, {
        watcher,
        logSeq: 0,
        generation: null,
        pending: true,
        done: false,
        gone: false,
      });
    }
    this.#connections.add(connection);
    this.#startHeartbeat();
    await Promise.all(
      [...connection.subscriptions.values()].map(async (sub) => {
        if (sub.watcher.session === null && !sub.watcher.gone) await sub.watcher.refresh();
        const session = sub.watcher.session;
        if (session === null) {
          sub.gone = true;
          return;
        }
        const cursor = request.cursors?.[sub.watcher.id] ?? request;
        sub.logSeq = cursor.logAfter ?? (cursor.after === undefined ? 0 : logSeqAtVersion(session, cursor.after));
        // The first line is made for this connection (its own log cursor).
        if (sub.watcher.generation === null) sub.watcher.schedule(0);
      }),
    );
    connection.notify();
    return connection.stream;
  }

  /** Ends every stream with a line telling clients to reconnect (elsewhere). */
  shutdown(): void {
    for (const connection of this.#connections) {
      connection.closing = RECONNECT[connection.format];
      connection.notify();
    }
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }

  close(): void {
    this.shutdown();
    for (const connection of [...this.#connections]) connection.close();
    this.#unsubscribe();
  }

  stats(): { watchers: number; connections: number } {
    return { watchers: this.#watchers.size, connections: this.#connections.size };
  }

  #watch(id: string): Watcher {
    let watcher = this.#watchers.get(id);
    if (!watcher) {
      watcher = new Watcher(id, this);
      this.#watchers.set(id, watcher);
    }
    return watcher;
  }

  #release(connection: Connection): void {
    this.#connections.delete(connection);
    for (const [id, sub] of connection.subscriptions) {
      sub.watcher.connections.delete(connection);
      if (sub.watcher.connections.size === 0) {
        sub.watcher.stop();
        this.#watchers.delete(id);
      }
    }
    if (this.#connections.size === 0 && this.#heartbeat) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = null;
    }
  }

  #startHeartbeat(): void {
    if (this.#heartbeat) return;
    const every = Math.max(50, Math.min(1_000, this.#heartbeatMs / 3));
    this.#heartbeat = setInterval(() => {
      const silentSince = Date.now() - this.#heartbeatMs;
      for (const connection of this.#connections) {
        if (connection.lastWriteAt <= silentSince) {
          connection.heartbeatDue = true;
          connection.lastWriteAt = Date.now();
          connection.notify();
        }
      }
    }, every);
    this.#heartbeat.unref();
  }
}
