/**
 * Streams a hub subscription to an HTTP client as NDJSON or Server-Sent
 * Events. The hub decides what each subscription gets (server/stream/hub.ts);
 * this frames it and writes it when the socket wants more.
 *
 * The stream is a pull-based web `ReadableStream` (highWaterMark 0):
 * nothing is taken from the subscription until the socket has drained, so a
 * slow reader holds the hub's "something pending" flag, never a queue.
 */
import type { Context } from 'hono';
import type { HubLine, Subscription } from '../stream/hub.ts';
import { nodeResponse, requestHeader } from './node-bindings.ts';

export type StreamFormat = 'ndjson' | 'sse';

const encoder = new TextEncoder();

/** The format a request asks for: SSE with `Accept: text/event-stream`, NDJSON otherwise. */
export const formatOf = (c: Context): StreamFormat =>
  /text\/event-stream/i.test(requestHeader(c, 'accept') ?? '') ? 'sse' : 'ndjson';

/**
 * A line's bytes: NDJSON is the JSON and `\n`; SSE frames every line as an
 * event's `data:` (so EventSource hears `reconnect`, `gone` and `error` too),
 * with `id:` = version on snapshots, for `Last-Event-ID`. A generation's
 * bytes are made once and shared by every connection it goes to.
 */
export function frame(item: HubLine, format: StreamFormat): Uint8Array {
  const cached = item.shared?.framed[format];
  if (cached !== undefined) return cached;
  const { line, json } = item;
  const bytes = encoder.encode(
    format === 'ndjson' ? `${json}\n` : `${line.type === 'snapshot' ? `id: ${line.version}\n` : ''}data: ${json}\n\n`,
  );
  if (item.shared) item.shared.framed[format] = bytes;
  return bytes;
}

function join(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const joined = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined;
}

/** The subscription as a pull-based byte stream; it ends after the subscription's last line. */
export function webStream(subscription: Subscription, format: StreamFormat): ReadableStream<Uint8Array> {
  let controller: ReadableStreamDefaultController<Uint8Array>;
  /** The socket asked for a chunk and has not had one yet: the next pending line answers it at once. */
  let wanted = false;
  let ended = false;
  const end = () => {
    ended = true;
    wanted = false;
    controller.close();
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
        controller.enqueue(join(lines.map((line) => frame(line, format))));
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
  };
  return new ReadableStream<Uint8Array>(
    {
      start: (c) => {
        controller = c;
      },
      // pull() only raises a flag and answers at once if something is pending:
      // no promise, closure or microtask hop per line.
      pull: () => {
        wanted = true;
        deliver();
      },
      cancel: () => {
        ended = true;
        subscription.close();
      },
    },
    { highWaterMark: 0 },
  );
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
): Response {
  subscription.onClosed(onClose);
  const close = () => subscription.close();
  const outgoing = nodeResponse(c);
  if (outgoing !== null) outgoing.once('close', close);
  else c.req.raw.signal.addEventListener('abort', close, { once: true });
  return new Response(webStream(subscription, format), {
    status: 200,
    headers: {
      ...HEADERS,
      'Content-Type': format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    },
  });
}
