/**
 * A subscription written straight to a Node `ServerResponse` (the direct
 * transport of server/http/stream-response.ts): no web stream and no promise
 * per line; backpressure from `write()`'s answer and `'drain'`.
 */
import type { ServerResponse } from 'node:http';
import type { HubLine, Subscription } from '../stream/hub.ts';
import { chunked, chunkSocket } from './socket-chunks.ts';
import { framed, type StreamFormat } from './stream-framing.ts';
import type { WriteQueue, Writer } from './write-queue.ts';

/** What a Node connection needs from the transport that made it. */
export interface NodeConnectionContext {
  queue: WriteQueue;
  /** How long a client may take nothing while bytes wait before its connection is closed. */
  stuckAfterMs: number;
  /** Called when a stuck client's connection is closed. */
  onStuck: () => void;
}

/**
 * Writes lines; returns null when the socket took them, else where to await
 * `'drain'`. A chunked response whose bytes are all on its socket gets one
 * shared, pre-framed chunk written to the socket (server/http/socket-chunks.ts).
 * Otherwise `res.write()`, corked around the write so that Node sends the
 * chunk's framing and bytes in one `writev` now, inside the queue's slice,
 * rather than on a tick of its own per socket.
 */
function writeLines(out: ServerResponse, lines: HubLine[], format: StreamFormat): NodeJS.EventEmitter | null {
  const socket = chunkSocket(out);
  if (socket !== null) return socket.write(chunked(lines, format)) ? null : socket;
  out.cork();
  const ok = out.write(framed(lines, format));
  out.uncork();
  return ok ? null : out;
}

export class NodeConnection implements Writer {
  #queued = false;
  /** A write said the response is full: nothing more is taken until `'drain'`. */
  #full = false;
  #ended = false;
  /** Where a `'drain'` is awaited (the response, or its socket for chunks written there). */
  #drainOn: NodeJS.EventEmitter | null = null;
  /** Closes the connection if the socket is still full when it fires. */
  #stuck: NodeJS.Timeout | null = null;
  readonly #drained = () => {
    this.#drainOn = null;
    this.#full = false;
    if (this.#stuck !== null) clearTimeout(this.#stuck);
    this.#stuck = null;
    this.wake();
  };

  constructor(
    private readonly subscription: Subscription,
    private readonly format: StreamFormat,
    private readonly out: ServerResponse,
    private readonly context: NodeConnectionContext,
    /** Called once the response has ended (the subscription's last line written). */
    private readonly onEnd: () => void,
  ) {
    // Sent already by @hono/node-server before it reads a stream; said here because chunkSocket() needs it.
    out.flushHeaders();
    subscription.onPending = () => this.wake();
    subscription.onClosed(() => {
      this.#ended = true;
      this.#drainOn?.off('drain', this.#drained);
      if (this.#stuck !== null) clearTimeout(this.#stuck);
    });
  }

  wake(): void {
    if (this.#queued || this.#full || this.#ended) return;
    // Shutting down: the reconnect line goes now, before the hub lets go of it.
    if (this.subscription.done) {
      this.write();
      return;
    }
    this.#queued = true;
    this.context.queue.add(this);
  }

  /** Writes everything pending (called from the queue). */
  write(): void {
    this.#queued = false;
    if (this.#ended || this.#full) return;
    try {
      const lines = this.subscription.take();
      if (lines.length > 0) {
        const full = writeLines(this.out, lines, this.format);
        if (full !== null) this.#wait(full);
      }
      if (this.subscription.done) this.#end();
    } catch (error) {
      console.error('liveop: a stream connection failed and was closed', error);
      this.#ended = true;
      this.out.destroy();
      this.subscription.close();
    }
  }

  #wait(on: NodeJS.EventEmitter): void {
    this.#full = true;
    this.#drainOn = on;
    on.once('drain', this.#drained);
    this.#stuck = setTimeout(() => this.#closeStuck(), this.context.stuckAfterMs);
    this.#stuck.unref();
  }

  /**
   * A client that took nothing for the stuck deadline: its connection goes,
   * and with it the bytes waiting for it; a reader that comes back resumes
   * from its cursor. Without this, a page left in a frozen tab holds its
   * socket and buffers for as long as the session lasts.
   */
  #closeStuck(): void {
    this.context.onStuck();
    this.subscription.close();
    this.out.destroy();
  }

  #end(): void {
    this.#ended = true;
    this.#drainOn?.off('drain', this.#drained);
    this.out.end();
    this.subscription.close();
    this.onEnd();
  }
}
