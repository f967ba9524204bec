/**
 * Streams a hub subscription to an HTTP client as NDJSON or Server-Sent
 * Events. The hub decides what each subscription gets (server/stream/hub.ts);
 * this frames it and writes it when the socket can take more. Either way a
 * slow reader holds the hub's "something pending" flag, never a queue.
 *
 * Two transports carry the same bytes:
 *
 * - **Node**: served by @hono/node-server with the answer as the route made
 *   it, lines are written straight to the Node response — no web stream, no
 *   promise per line — with backpressure from `write()`'s answer and
 *   `'drain'`. Connections with something pending wait in one queue, written
 *   in slices of a few milliseconds, so the fan-out of a burst of changes
 *   never holds the event loop while posts wait.
 * - **Web**: everywhere else (`app.request()`, other runtimes, middleware
 *   that replaced the answer or wraps its body), a pull-based web
 *   `ReadableStream` (highWaterMark 0): nothing is taken from the
 *   subscription until the reader asks for more.
 *
 * Which one is decided when the body is first read: @hono/node-server reads
 * it with the public `getReader()` after writing the head; if by then the
 * context's answer is still this very Response, nothing replaced or wrapped
 * it, so the bytes may go to the Node response directly. The web stream's
 * read then stays pending until the stream ends.
 */
import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { HubLine, Subscription } from '../stream/hub.ts';
import { nodeResponse } from './node-bindings.ts';
import { chunked, framed, type StreamFormat } from './stream-framing.ts';
import { WriteQueue } from './write-queue.ts';

export { formatOf, type StreamFormat } from './stream-framing.ts';

const queue = new WriteQueue();

/** Connections by transport since start (tests check which one served them). @internal */
export const transportCounts = { node: 0, web: 0 };

/** A subscription written straight to a Node response. */
class NodeConnection {
  #queued = false;
  /** A write said the socket is full: nothing more is taken until `'drain'`. */
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
    private readonly onEnd: () => void,
    private readonly stuckAfterMs: number,
  ) {
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
    queue.add(this);
  }

  /** Writes everything pending (called from the queue). */
  write(): void {
    this.#queued = false;
    if (this.#ended || this.#full) return;
    try {
      const lines = this.subscription.take();
      if (lines.length > 0) this.#send(lines);
      if (this.subscription.done) this.#end();
    } catch (error) {
      console.error('liveop: a stream connection failed and was closed', error);
      this.#ended = true;
      this.out.destroy();
      this.subscription.close();
    }
  }

  #send(lines: HubLine[]): void {
    const out = this.out;
    const socket = out.socket;
    let ok: boolean;
    if (out.chunkedEncoding && socket !== null && out.writableLength === socket.writableLength) {
      // The head is on the socket and Node holds nothing of this response's:
      // the chunk, framed as Node would frame it, goes to the socket in one
      // write — Node's own path costs four buffers and a writev per line.
      ok = socket.write(chunked(lines, this.format));
      if (!ok) this.#drainOn = socket;
    } else {
      // Corked around the write, Node sends the framing and the bytes in one
      // writev now, inside this slice, rather than on a tick per socket.
      out.cork();
      ok = out.write(framed(lines, this.format));
      out.uncork();
      if (!ok) this.#drainOn = out;
    }
    if (!ok) {
      this.#full = true;
      this.#drainOn!.once('drain', this.#drained);
      this.#stuck = setTimeout(closeStuck, this.stuckAfterMs, this.subscription, this.out);
      this.#stuck.unref();
    }
  }

  #end(): void {
    this.#ended = true;
    this.#drainOn?.off('drain', this.#drained);
    this.out.end();
    this.subscription.close();
    this.onEnd();
  }
}

/**
 * A client that took nothing for the stuck deadline: its connection goes, and
 * with it the bytes waiting for it; a reader that comes back resumes from its
 * cursor. Without this, a page left in a frozen tab holds its socket and
 * buffers for as long as the session lasts.
 */
function closeStuck(subscription: Subscription, out: ServerResponse | null, error?: () => void): void {
  stuckClosed.count += 1;
  subscription.close();
  out?.destroy();
  error?.();
}

/** Streams closed for a stuck client since start (`liveop.stats()` reports it). */
export const stuckClosed = { count: 0 };

/** Streams whose reader was taken with the public `getReader()`. */
const readerTaken = new WeakSet<ReadableStream>();
const plainGetReader = ReadableStream.prototype.getReader as (this: ReadableStream, ...args: unknown[]) => unknown;

/**
 * Set as our streams' own `getReader`: notes that someone asked for the
 * reader with the public method, as @hono/node-server's pump does
 * (`pipeThrough()`, `tee()` and friends take theirs internally). An own
 * property and a WeakSet cost ~0.1 KB a stream; a subclass of ReadableStream
 * cost ~0.6 KB.
 */
function markingGetReader(this: ReadableStream, ...args: unknown[]): unknown {
  readerTaken.add(this);
  return plainGetReader.apply(this, args);
}

/** Where the Node transport may take over: the Node response, and whether the answer is still ours. */
export interface NodeTarget {
  out: ServerResponse;
  /** True when the Response the route made is the one being sent, unchanged. */
  unchanged: () => boolean;
}

/** The head @hono/node-server wrote is this answer's, and the response is still open. */
function nodeMayTakeOver({ out, unchanged }: NodeTarget): boolean {
  return unchanged() && out.headersSent && out.statusCode === 200 && !out.writableEnded && !out.destroyed;
}

/**
 * The subscription as a byte stream that ends after the subscription's last
 * line; with a `node` target, handed to the Node transport at its first read
 * when that is safe.
 */
export function webStream(
  subscription: Subscription,
  format: StreamFormat,
  target: NodeTarget | null = null,
  stuckAfterMs = 30_000,
): ReadableStream<Uint8Array> {
  let node = target;
  /** Lines are pending and the reader has not asked for them: closed if it does not by the deadline. */
  let stuck: NodeJS.Timeout | null = null;
  let controller: ReadableStreamDefaultController<Uint8Array>;
  /** The reader asked for a chunk and has not had one yet: the next pending line answers it at once. */
  let wanted = false;
  let ended = false;
  /** Whether the transport was chosen (at the first read). */
  let decided = false;
  const close = () => {
    try {
      controller.close();
    } catch {
      // already closed or errored
    }
  };
  const end = () => {
    ended = true;
    wanted = false;
    if (stuck !== null) clearTimeout(stuck);
    close();
    subscription.close();
  };
  // Runs in timers and stream callbacks: nothing may throw out of it, so a
  // failure ends this connection only, never the process.
  const deliver = () => {
    if (ended) return;
    try {
      const lines = subscription.take();
      if (lines.length > 0) {
        wanted = false;
        controller.enqueue(framed(lines, format));
      }
      if (subscription.done) end();
    } catch (error) {
      console.error('liveop: a stream connection failed and was closed', error);
      ended = true;
      try {
        controller.error(error);
      } catch {
        // already closed
      }
      subscription.close();
    }
  };
  subscription.onPending = () => {
    if (wanted) deliver();
    else if (stuck === null && !ended) {
      stuck = setTimeout(() => {
        ended = true;
        closeStuck(subscription, null, () => controller.error(new Error('the reader took nothing for too long')));
      }, stuckAfterMs);
      stuck.unref();
    }
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      start: (c) => {
        controller = c;
      },
      // pull() only raises a flag and answers at once if something is pending:
      // no promise, closure or microtask hop per line.
      pull: () => {
        if (stuck !== null) clearTimeout(stuck);
        stuck = null;
        if (!decided) {
          decided = true;
          const target = node;
          node = null; // it holds the request's context: not for the stream's life
          if (target !== null && readerTaken.has(stream) && nodeMayTakeOver(target)) {
            transportCounts.node += 1;
            ended = true; // the web side only closes, at the end
            new NodeConnection(subscription, format, target.out, close, stuckAfterMs).wake();
            return;
          }
          transportCounts.web += 1;
        }
        wanted = true;
        deliver();
      },
      cancel: () => {
        ended = true;
        if (stuck !== null) clearTimeout(stuck);
        subscription.close();
      },
    },
    { highWaterMark: 0 },
  );
  if (target !== null) (stream as { getReader: unknown }).getReader = markingGetReader;
  return stream;
}

const HEADERS = {
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  // Without it @hono/node-server may hold the first bytes while it tries to compute a length.
  'Transfer-Encoding': 'chunked',
};

/**
 * The HTTP answer for a subscription, released the moment the client goes
 * away: the Node response's `close` when served by @hono/node-server (what
 * its request signal is made from, so the same moment, without an
 * AbortController per stream), else the request's signal.
 */
export function streamResponse(
  c: Context,
  subscription: Subscription,
  format: StreamFormat,
  onClose: () => void = () => {},
  stuckAfterMs = 30_000,
): Response {
  subscription.onClosed(onClose);
  const out = nodeResponse(c);
  closeOn(out ?? c.req.raw.signal, subscription);
  const target = out === null ? null : nodeTarget(c, out);
  const response = new Response(webStream(subscription, format, target, stuckAfterMs), {
    status: 200,
    headers: {
      ...HEADERS,
      'Content-Type': format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    },
  });
  if (target !== null) target.response = response;
  return response;
}

// The closures below live as long as the stream: each in a function of its
// own, so none keeps the request's context (several KB) alive with it.

function closeOn(source: ServerResponse | AbortSignal, subscription: Subscription): void {
  const close = () => subscription.close();
  if (source instanceof AbortSignal) source.addEventListener('abort', close, { once: true });
  else source.once('close', close);
}

function nodeTarget(c: Context, out: ServerResponse): NodeTarget & { response: Response | null } {
  const target = { out, response: null as Response | null, unchanged: () => c.res === target.response };
  return target;
}
