/**
 * Streams a hub subscription to an HTTP client as NDJSON or Server-Sent
 * Events. The hub decides what each subscription gets (server/stream/hub.ts);
 * this frames it and writes it when the socket can take more. Either way a
 * slow reader holds the hub's "something pending" flag, never a queue.
 *
 * Two transports carry the same bytes:
 *
 * - **Node**: served by @hono/node-server with the answer as the route made
 *   it, lines are written straight to the Node response
 *   (server/http/node-stream-connection.ts) — no web stream, no promise per
 *   line — with backpressure from `write()`'s answer and `'drain'`.
 *   Connections with something pending wait in the responder's queue,
 *   written in slices of a few milliseconds, so the fan-out of a burst of
 *   changes never holds the event loop while posts wait.
 * - **Web**: everywhere else (`app.request()`, other runtimes, middleware
 *   that replaced the answer or wraps its body), a pull-based web
 *   `ReadableStream` (highWaterMark 0): nothing is taken from the
 *   subscription until the reader asks for more.
 *
 * Which one is decided when the body is first read, with public properties
 * only: if by then the context's answer is still this very Response and the
 * Node response (`c.env.outgoing`) has its head written with status 200,
 * @hono/node-server wrote that head from this Response and is reading its
 * body to send it, so the bytes may go to the Node response directly. The
 * adapter's read then stays pending until the stream ends, and it ends the
 * response (already ended) as it would after any body.
 *
 * Answering with the adapter's `RESPONSE_ALREADY_SENT` instead would write
 * the head before middleware is done with the answer: headers that
 * middleware sets after `next()` would be lost.
 *
 * One case this cannot see: a fetch wrapper around the Hono app that pipes
 * the body through a transform (gzip, say) into a new Response. The
 * context's answer is still this one and a head is written, so the lines
 * would go out untransformed. Transform in Hono middleware instead: it
 * replaces the context's answer, and the web stream carries the lines.
 */
import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { Subscription } from '../stream/hub.ts';
import { nodeResponse } from './node-bindings.ts';
import { NodeConnection, type NodeConnectionContext } from './node-stream-connection.ts';
import { framed, type StreamFormat } from './stream-framing.ts';
import { WriteQueue } from './write-queue.ts';

export { formatOf, type StreamFormat } from './stream-framing.ts';

/** What a stream's transport decides with: the Node response, and whether the answer is still the route's. */
interface NodeTarget {
  out: ServerResponse;
  /** True when the Response the route made is the app's answer, unchanged. */
  unchanged: () => boolean;
}

/**
 * Whether the direct transport may take over at the body's first read: the
 * app's answer is still the route's Response (no middleware replaced or
 * wrapped it) and @hono/node-server has written its head, so the reader is
 * the adapter sending that body to this very response.
 */
function nodeMayTakeOver({ out, unchanged }: NodeTarget): boolean {
  return unchanged() && out.headersSent && out.statusCode === 200 && !out.writableEnded && !out.destroyed;
}

/** Streams opened by transport, and stuck ones closed, since this responder was made. */
export interface StreamCounts {
  /** Streams written straight to the Node response. */
  nodeStreams: number;
  /** Streams written through a web `ReadableStream`. */
  webStreams: number;
  /** Streams closed because their client took nothing for the stuck deadline. */
  stuckStreamsClosed: number;
}

/**
 * Turns subscriptions into HTTP answers, one per Liveop instance: its write
 * queue and its counts are that instance's alone.
 */
export class StreamResponder {
  readonly #counts: StreamCounts = { nodeStreams: 0, webStreams: 0, stuckStreamsClosed: 0 };
  readonly #node: NodeConnectionContext;

  /** @param stuckAfterMs how long a client may take nothing while bytes wait before its stream is closed */
  constructor(readonly stuckAfterMs = 30_000) {
    this.#node = { queue: new WriteQueue(), stuckAfterMs, onStuck: () => this.#counts.stuckStreamsClosed++ };
  }

  stats(): StreamCounts {
    return { ...this.#counts };
  }

  /**
   * The HTTP answer for a subscription, released the moment the client goes
   * away: the Node response's `close` when served by @hono/node-server (what
   * its request signal is made from, so the same moment, without an
   * AbortController per stream), else the request's signal.
   */
  respond(c: Context, subscription: Subscription, format: StreamFormat, onClose: () => void = () => {}): Response {
    subscription.onClosed(onClose);
    const out = nodeResponse(c);
    closeOn(out ?? c.req.raw.signal, subscription);
    const target = out === null ? null : nodeTarget(c, out);
    const response = new Response(this.#stream(subscription, format, target), {
      status: 200,
      headers: {
        ...HEADERS,
        'Content-Type': format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      },
    });
    if (target !== null) target.response = response;
    return response;
  }

  /**
   * The subscription as a byte stream that ends after the subscription's
   * last line; with a `node` target, handed to the direct transport at its
   * first read when that is safe.
   */
  #stream(subscription: Subscription, format: StreamFormat, target: NodeTarget | null): ReadableStream<Uint8Array> {
    const counts = this.#counts;
    const node = this.#node;
    let pending = target;
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
    // A reader that takes nothing for the deadline while lines wait: see NodeConnection's #closeStuck.
    const closeStuck = () => {
      ended = true;
      counts.stuckStreamsClosed++;
      subscription.close();
      controller.error(new Error('the reader took nothing for too long'));
    };
    subscription.onPending = () => {
      if (wanted) deliver();
      else if (stuck === null && !ended) {
        stuck = setTimeout(closeStuck, node.stuckAfterMs);
        stuck.unref();
      }
    };
    return new ReadableStream<Uint8Array>(
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
            const chosen = pending;
            pending = null; // it holds the request's context: not for the stream's life
            if (chosen !== null && nodeMayTakeOver(chosen)) {
              counts.nodeStreams++;
              ended = true; // the web side only closes, at the end
              new NodeConnection(subscription, format, chosen.out, node, close).wake();
              return;
            }
            counts.webStreams++;
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
  }
}

const HEADERS = {
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  // Without it @hono/node-server may hold the first bytes while it tries to
  // compute a length, and hono/compress would re-encode the stream.
  'Transfer-Encoding': 'chunked',
};

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
