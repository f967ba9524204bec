/**
 * Header access through the Node request and response that @hono/node-server
 * passes as `c.env.incoming` / `c.env.outgoing`, with Hono's own as the
 * fallback (`app.request()` in tests, HTTP/2, other servers).
 *
 * Why: `c.req.header()` makes @hono/node-server build a web `Headers` object
 * from the Node headers (undici validates every name and value), and
 * `c.res.headers.set()` turns its cheap cached answer into a full web
 * `Headers` that is then converted back for Node. Together they were about 6%
 * of an event post's CPU, for four header reads and one header write.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';

interface NodeBindings {
  incoming?: unknown;
  outgoing?: unknown;
}

/** The Node response, when served by @hono/node-server over HTTP/1.1. */
export function nodeResponse(c: Context): ServerResponse | null {
  const outgoing = (c.env as NodeBindings | undefined)?.outgoing;
  return outgoing instanceof ServerResponse ? outgoing : null;
}

/** The Node request, when served by @hono/node-server. */
export function nodeRequest(c: Context): IncomingMessage | null {
  const incoming = (c.env as NodeBindings | undefined)?.incoming;
  return incoming instanceof IncomingMessage ? incoming : null;
}

/** The client's address (the socket's peer): who a limit counts in open mode. */
export function clientAddress(c: Context): string {
  const incoming = (c.env as NodeBindings | undefined)?.incoming;
  return (incoming instanceof IncomingMessage ? incoming.socket.remoteAddress : undefined) ?? 'unknown';
}

/**
 * Whether the client broke off its request before the whole body arrived
 * (its upload aborted, its connection reset): nothing is wrong with the
 * server, and nobody is left to answer.
 */
export function requestAborted(c: Context): boolean {
  const incoming = (c.env as NodeBindings | undefined)?.incoming;
  return incoming instanceof IncomingMessage && incoming.readableAborted;
}

/** A request header; `name` in lower case. */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = (c.env as NodeBindings | undefined)?.incoming;
  if (!(incoming instanceof IncomingMessage)) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
