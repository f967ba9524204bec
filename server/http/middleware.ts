/**
 * The middleware every route shares, on the Node fast path where it matters
 * (server/http/node-bindings.ts): CORS, open mode's Host check, the body limit.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { cors as honoCors } from 'hono/cors';
import { ApiError } from './errors.ts';
import { nodeRequest, nodeResponse, requestHeader } from './node-bindings.ts';

const LOOPBACK = String.raw`(localhost|127(?:\.\d{1,3}){3}|\[::1\])(:\d+)?`;
const LOOPBACK_HOST = new RegExp(`^${LOOPBACK}$`, 'i');
const LOOPBACK_ORIGIN = new RegExp(`^http://${LOOPBACK}$`, 'i');

/** A Host header that names this machine. */
export const isLoopbackHost = (host: string): boolean => LOOPBACK_HOST.test(host);

/**
 * Which origin to grant (`Access-Control-Allow-Origin`) for a request's
 * `Origin`: `*` when asked for; the listed ones; with none listed, nobody on
 * a keyed server and only loopback pages on an open one.
 */
export function originPolicy(corsOrigins: string[] | '*', open: boolean): (origin: string) => string | null {
  if (corsOrigins === '*') return () => '*';
  if (corsOrigins.length > 0) {
    const listed = new Set(corsOrigins);
    return (origin) => (listed.has(origin) ? origin : null);
  }
  if (open) return (origin) => (LOOPBACK_ORIGIN.test(origin) ? origin : null);
  return () => null;
}

/**
 * CORS for the element on other sites. Preflights go through Hono's cors();
 * every other answer gets the same headers set on the Node response before
 * the route runs (Node merges them into whatever is written, streams
 * included): cors() sets them on `c.res` after the handler, which makes Hono
 * copy each answer into a new web Response — a full undici Response per
 * request instead of @hono/node-server's cheap cached one.
 */
export function cors(
  corsOrigins: string[] | '*',
  open: boolean,
  log: (message: string) => void = (message) => console.warn(message),
  now: () => number = Date.now,
): MiddlewareHandler {
  const allowOrigin = originPolicy(corsOrigins, open);
  const refused = refusedOrigins(log, now);
  const preflight = honoCors({
    origin: corsOrigins === '*' ? '*' : (origin) => allowOrigin(origin),
    allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID', 'Idempotency-Key'],
    maxAge: 600,
  });
  const vary = corsOrigins !== '*';
  return async (c, next) => {
    const origin = requestHeader(c, 'origin');
    if (origin !== undefined && allowOrigin(origin) === null) refused(origin, requestHeader(c, 'host'));
    if (c.req.method === 'OPTIONS') return preflight(c, next);
    const allowed = allowOrigin(origin ?? '');
    const outgoing = nodeResponse(c);
    if (outgoing !== null) {
      if (allowed) {
        outgoing.setHeader('Access-Control-Allow-Origin', allowed);
        // So a page on another origin can read when to try again after a 429 or 503.
        outgoing.setHeader('Access-Control-Expose-Headers', 'Retry-After');
      }
      if (vary) outgoing.appendHeader('Vary', 'Origin');
      return next();
    }
    await next();
    if (allowed) {
      c.res.headers.set('Access-Control-Allow-Origin', allowed);
      c.res.headers.set('Access-Control-Expose-Headers', 'Retry-After');
    }
    if (vary) c.res.headers.append('Vary', 'Origin');
  };
}

/**
 * Tells the operator when a browser on another origin was refused — the page
 * owner sees only "Reconnecting…" and a console error — at most once per
 * origin every 10 minutes. Same-origin requests (Chromium sends `Origin` on
 * them too) are not refusals.
 */
function refusedOrigins(
  log: (message: string) => void,
  clock: () => number,
): (origin: string, host: string | undefined) => void {
  const told = new Map<string, number>();
  return (origin, host) => {
    if (host !== undefined && origin.replace(/^https?:\/\//, '') === host) return;
    const now = clock();
    if ((told.get(origin) ?? 0) > now - 600_000) return;
    if (told.size >= 1_000) told.clear();
    told.set(origin, now);
    log(
      `liveop: refused a browser request from ${origin.slice(0, 200)}: not an allowed origin (LIVEOP_CORS_ORIGINS / corsOrigins)`,
    );
  };
}

/**
 * Open mode trusts whoever reaches it, which is only safe for this machine's
 * own requests: a page on the web can point its own host name at 127.0.0.1
 * (DNS rebinding) and so be "same-origin" with us. Its requests still name
 * that host, so open mode answers only requests addressed to a loopback host.
 */
export const loopbackHostOnly: MiddlewareHandler = async (c, next) => {
  const host = requestHeader(c, 'host') ?? new URL(c.req.url).host;
  if (!isLoopbackHost(host)) {
    throw new ApiError(
      403,
      `open mode answers only requests addressed to this machine (Host: ${host.slice(0, 100)}); configure API keys to serve other hosts`,
    );
  }
  await next();
};

/** The body limit of a request `bodyLimit()` let through on Node, for `bodyText()`. */
const bodyLimits = new WeakMap<Context, number>();

/**
 * 413 past `maxBytes`. A declared Content-Length is checked from the header
 * alone; a body without one (chunked) is counted as `bodyText()` reads it.
 * Not Hono's bodyLimit, on Node: it reads `c.req.raw.body`, which makes
 * @hono/node-server build a full web Request (undici, AbortSignal, web
 * stream) for every post — more than half of a chunked post's CPU.
 */
export function bodyLimit(maxBytes: number): MiddlewareHandler {
  const streamed = honoBodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      throw tooLarge(c, maxBytes);
    },
  });
  return async (c, next) => {
    const length = requestHeader(c, 'content-length');
    const declared = length !== undefined && requestHeader(c, 'transfer-encoding') === undefined;
    if (declared && Number.parseInt(length, 10) > maxBytes) throw new ApiError(413, tooLargeMessage(maxBytes));
    if (nodeRequest(c) === null) return declared ? next() : streamed(c, next);
    if (!declared) bodyLimits.set(c, maxBytes);
    await next();
  };
}

/**
 * The request body as text, read the same way whatever its framing:
 * `c.req.text()`, which @hono/node-server reads straight from the Node
 * request. A body `bodyLimit()` could not check from its Content-Length is
 * counted as it arrives, and the read stops past the limit (413).
 */
export async function bodyText(c: Context): Promise<string> {
  const maxBytes = bodyLimits.get(c);
  const incoming = nodeRequest(c);
  if (maxBytes === undefined || incoming === null) return c.req.text();
  let received = 0;
  let refuse: (error: Error) => void = () => {};
  const over = new Promise<never>((_, reject) => {
    refuse = reject;
  });
  // Counted beside @hono/node-server's own reader: both listen from this tick, before any chunk flows.
  const count = (chunk: Buffer) => {
    received += chunk.length;
    if (received <= maxBytes) return;
    incoming.pause();
    refuse(tooLarge(c, maxBytes));
  };
  incoming.on('data', count);
  const reading = c.req.text();
  try {
    const text = await Promise.race([reading, over]);
    // A body received whole before the client left is read from the buffer, past the counter.
    if (Buffer.byteLength(text) > maxBytes) throw tooLarge(c, maxBytes);
    return text;
  } finally {
    incoming.off('data', count);
    reading.catch(() => {}); // abandoned past the limit: it fails when the connection closes
  }
}

const tooLargeMessage = (maxBytes: number) => `the body is larger than ${maxBytes} bytes`;

/** 413 for a body cut short: its rest stays unread, so the connection closes after the answer. */
function tooLarge(c: Context, maxBytes: number): ApiError {
  // Said, or a keep-alive client sends its next request into a closed connection.
  nodeResponse(c)?.setHeader('Connection', 'close');
  return new ApiError(413, tooLargeMessage(maxBytes));
}
