/**
 * createApp(deps) → the Hono app of the HTTP contract. It never listens:
 * mount it in your own Hono app (`app.route('/progress', liveop.routes())`)
 * or serve it with `liveop.listen()`.
 */
import { randomBytes } from 'node:crypto';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { z } from 'zod';
import { findTooDeep } from '../core/json-shape';
import { createSession, type SessionOptions, type StoredSession } from '../core/model';
import { applyEvents, requestCancel } from '../core/reducer';
import { createSessionSchema, eventBatchSchema, tokenRequestSchema } from '../core/schemas';
import { toSnapshot } from '../core/snapshot';
import {
  type CreatedSession,
  type EventsAccepted,
  LIMITS,
  LineSplitter,
  type NextSession,
  type TokenScope,
} from '../protocol';
import type { Runner } from '../runner/runner';
import type { SessionStore } from '../store/session-store';
import { type Authenticator, authorize, type Credential, type TokenSigner } from './auth';
import { ApiError, parseWith, respondError } from './errors';
import { nodeResponse, requestHeader } from './node-bindings';
import type { StreamFormat, StreamHub, StreamRequest } from './stream-hub';
import { snapshotJson } from './unservable';

export interface AppConfig {
  /** Largest request body, in bytes (413 past it). @default 1048576 */
  maxBodyBytes: number;
  /** Lifetime of viewer tokens. @default 3600 */
  viewerTokenTtlSeconds: number;
  /** Lifetime of reporter tokens. @default 86400 */
  reporterTokenTtlSeconds: number;
  /**
   * Origins allowed to call the API from a browser (`*` for any). With none
   * given, a keyed server allows no other origin, and an open one (no API
   * keys) only loopback pages: `http://localhost:*`, `http://127.0.0.1:*`,
   * `http://[::1]:*`.
   * @default []
   */
  corsOrigins: string[] | '*';
  /** Defaults for new sessions. */
  sessionDefaults: Partial<SessionOptions> & { ttlSeconds?: number };
  /** Absolute URL the server is reached at (behind a proxy); derived from each request when unset. */
  publicUrl?: string;
  /** Most sessions one multiplexed stream may carry. @default 50 */
  maxSessionsPerStream: number;
}

export const DEFAULT_APP_CONFIG: AppConfig = {
  maxBodyBytes: 1024 * 1024,
  viewerTokenTtlSeconds: 3600,
  reporterTokenTtlSeconds: 86_400,
  corsOrigins: [],
  sessionDefaults: {},
  maxSessionsPerStream: 50,
};

export interface AppDeps {
  store: SessionStore;
  hub: StreamHub;
  auth: Authenticator;
  signer: TokenSigner;
  runner: Runner;
  now: () => number;
  config: AppConfig;
  /** Starts a registered operation (the facade wires it). */
  startOperation: (name: string, input: unknown, owner: string | null, base: string) => Promise<CreatedSession>;
  /** Starts a finished operation session again, as a new session (liveops' restart). */
  restartOperation: (session: StoredSession, base: string) => Promise<CreatedSession>;
  /** The element bundle for `GET /widget.js`, or null when not built. */
  widget: () => Promise<Uint8Array | null>;
}

/** A fresh session id: 128 bits of randomness. */
export const newSessionId = (): string => randomBytes(16).toString('base64url');

const STREAM_HEADERS = {
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  // Without it @hono/node-server may hold the first bytes while it tries to compute a length.
  'Transfer-Encoding': 'chunked',
};

const cursorSchema = z.coerce.number().int().min(0).optional();
const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});

export function createApp(deps: AppDeps): Hono {
  const { store, hub, auth, signer, runner, now, config } = deps;
  const app = new Hono();

  app.onError((error, c) => respondError(c, error));
  app.notFound((c) => respondError(c, new ApiError(404, `no route for ${c.req.method} ${c.req.path}`)));
  const allowOrigin = originPolicy(config.corsOrigins, auth.open);
  const preflight = cors({
    origin: config.corsOrigins === '*' ? '*' : (origin) => allowOrigin(origin),
    allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'],
    maxAge: 600,
  });
  // Open mode trusts whoever reaches it, which is only safe for this machine's
  // own requests: a page on the web can point its own host name at 127.0.0.1
  // (DNS rebinding) and so be "same-origin" with us. Its requests still name
  // that host, so open mode answers only requests addressed to a loopback host.
  if (auth.open) {
    app.use('*', async (c, next) => {
      const host = requestHeader(c, 'host') ?? new URL(c.req.url).host;
      if (!isLoopbackHost(host)) {
        throw new ApiError(
          403,
          `open mode answers only requests addressed to this machine (Host: ${host.slice(0, 100)}); configure API keys to serve other hosts`,
        );
      }
      await next();
    });
  }
  // The same headers as hono's cors() on every other request, set without
  // touching `c.res`: cors() does before the handler, so Hono then copies each
  // answer into a new one, which turns @hono/node-server's cheap cached response
  // into a full web Response (undici, body stream) per request. On the Node
  // response they are merged into whatever answer is written, streams included.
  app.use('*', async (c, next) => {
    if (c.req.method === 'OPTIONS') return preflight(c, next);
    const allowed = allowOrigin(requestHeader(c, 'origin') ?? '');
    const vary = config.corsOrigins !== '*';
    const outgoing = nodeResponse(c);
    if (outgoing !== null) {
      if (allowed) outgoing.setHeader('Access-Control-Allow-Origin', allowed);
      if (vary) outgoing.appendHeader('Vary', 'Origin');
      return next();
    }
    await next();
    if (allowed) c.res.headers.set('Access-Control-Allow-Origin', allowed);
    if (vary) c.res.headers.append('Vary', 'Origin');
  });
  const tooLarge = () => new ApiError(413, `the body is larger than ${config.maxBodyBytes} bytes`);
  const streamedLimit = bodyLimit({
    maxSize: config.maxBodyBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  // A declared Content-Length is checked from the header alone: hono's bodyLimit
  // reads `c.req.raw.body` first, which makes @hono/node-server build a full
  // web Request (undici, AbortSignal, web stream) for every post — a third of
  // an event post's CPU. Chunked bodies still go through bodyLimit, which counts.
  const limit: MiddlewareHandler = async (c, next) => {
    const length = requestHeader(c, 'content-length');
    if (length === undefined || requestHeader(c, 'transfer-encoding') !== undefined) return streamedLimit(c, next);
    if (Number.parseInt(length, 10) > config.maxBodyBytes) throw tooLarge();
    await next();
  };

  /** The URL prefix this app is mounted at, as clients reach it. */
  const baseOf = (c: Context, suffix: string): string => {
    if (config.publicUrl) return config.publicUrl.replace(/\/$/, '');
    const url = new URL(c.req.url);
    const path = url.pathname.endsWith(suffix) ? url.pathname.slice(0, -suffix.length) : '';
    return `${url.origin}${path}`;
  };

  const created = (session: StoredSession, base: string, viewerScope: TokenScope = 'view+cancel'): CreatedSession => ({
    id: session.id,
    viewerToken: signer.sign(session.id, viewerScope, config.viewerTokenTtlSeconds),
    reporterToken: signer.sign(session.id, 'report', config.reporterTokenTtlSeconds),
    streamUrl: `${base}/sessions/${session.id}/stream`,
    snapshotUrl: `${base}/sessions/${session.id}`,
  });

  /** Who asks about session `id`; a token for another session is refused before we reveal whether this one exists. */
  const identifyFor = (c: Context, id: string): Credential => {
    const credential = auth.identify(c);
    if (credential.kind === 'token' && credential.sessionId !== id) {
      throw new ApiError(403, 'this token is for another session');
    }
    return credential;
  };

  /** Reads a session the caller may see (401/403/404 otherwise). */
  const load = async (c: Context, id: string, right: Parameters<typeof authorize>[1]) => {
    const credential = identifyFor(c, id);
    const session = await store.get(id);
    if (session === undefined) throw new ApiError(404, `unknown session "${id}"`);
    authorize(credential, right, session);
    return { credential, session };
  };

  const ownerFor = (credential: Credential, requested: string | undefined): string | null => {
    if (credential.kind === 'token') throw new ApiError(403, 'a session token cannot create sessions; use an API key');
    if (credential.kind === 'open') return requested ?? null;
    if (requested !== undefined && requested !== credential.owner && !credential.admin) {
      throw new ApiError(403, 'only an admin key may create sessions for another owner');
    }
    return requested ?? credential.owner;
  };

  const readJson = async (c: Context): Promise<unknown> => {
    const type = requestHeader(c, 'content-type') ?? '';
    if (!/^application\/json\b/i.test(type)) throw new ApiError(415, 'send Content-Type: application/json');
    const text = await c.req.text();
    return text.trim() === '' ? {} : parseJsonBody(text, '');
  };

  app.get('/healthz', async (c) => {
    try {
      await store.ping();
      return c.json({ ok: true, ...hub.stats() });
    } catch (error) {
      return respondError(c, error);
    }
  });

  app.get('/widget.js', async (c) => {
    const bundle = await deps.widget();
    if (bundle === null) throw new ApiError(404, 'the element is not built: run npm run build');
    return c.body(bundle as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': 'public, max-age=300',
      'Access-Control-Allow-Origin': '*',
      'Cross-Origin-Resource-Policy': 'cross-origin',
    });
  });

  app.post('/sessions', limit, async (c) => {
    const credential = auth.identify(c);
    const body = parseWith(createSessionSchema, await readJson(c));
    const { viewerScope, ...input } = body;
    const owner = ownerFor(credential, input.owner);
    const session = createSession(
      newSessionId(),
      { ...input, owner: owner ?? undefined },
      now(),
      config.sessionDefaults,
    );
    await store.create(session);
    return c.json(created(session, baseOf(c, '/sessions'), viewerScope), 201);
  });

  app.get('/sessions', async (c) => {
    const credential = auth.identify(c);
    if (credential.kind === 'token') throw new ApiError(403, 'listing sessions needs an API key');
    const query = parseWith(listQuerySchema, c.req.query(), 'query');
    const owner = credential.kind === 'key' && !credential.admin ? credential.owner : undefined;
    const page = await store.list({ owner, limit: query.limit, cursor: query.cursor ?? null });
    const at = now();
    // Encoded one by one, so one session that cannot be encoded does not fail the page.
    const sessions = page.sessions.map((s) => snapshotJson(s, at, { logAfter: s.logSeq }, { owner: s.owner }));
    return c.body(`{"sessions":[${sessions.join(',')}],"cursor":${JSON.stringify(page.cursor)}}`, 200, JSON_TYPE);
  });

  app.get('/sessions/:id', async (c) => {
    const { session } = await load(c, c.req.param('id'), 'view');
    return c.body(snapshotJson(session, now()), 200, { ...JSON_TYPE, 'Cache-Control': 'no-store' });
  });

  app.post('/sessions/:id/events', limit, async (c) => {
    const id = c.req.param('id');
    const credential = identifyFor(c, id);
    const events = parseWith(eventBatchSchema, await readEvents(c), 'events');
    // A chained session must exist, share the owner, and be one this reporter
    // may report to (its own reporter token for it, or the owner's key): its
    // viewer token goes to every viewer of this session. Resolved before the atomic update.
    const chains = events.flatMap((e) => (e.type === 'chain' ? [e] : []));
    const nexts = new Map<string, NextSession>();
    const current = chains.length > 0 ? (await load(c, id, 'report')).session : null;
    for (const { next: nextId, token } of chains) {
      const next = await store.get(nextId);
      if (next === undefined) throw new ApiError(404, `next: unknown session "${nextId}"`);
      const nextCredential = token === undefined ? credential : auth.credentialOf(token);
      const mayReport =
        nextCredential.kind !== 'token' || (nextCredential.sessionId === nextId && nextCredential.scope === 'report');
      if (!mayReport) {
        throw new ApiError(
          403,
          token === undefined
            ? `next: this token may report only to its own session; give the next session's reporter token as token`
            : `next: token is not a reporter token for session "${nextId}"`,
        );
      }
      authorize(nextCredential, 'report', next);
      if (next.owner !== current!.owner) throw new ApiError(403, 'next: that session belongs to another owner');
      nexts.set(nextId, {
        id: nextId,
        streamUrl: `${baseOf(c, `/sessions/${id}/events`)}/sessions/${nextId}/stream`,
        viewerToken: signer.sign(nextId, 'view', config.viewerTokenTtlSeconds),
      });
    }
    // Authorised inside the update: one store read per post, and a refusal writes nothing.
    const session = await store.update(id, (s) => {
      authorize(credential, 'report', s);
      return applyEvents(s, events, now(), { resolveNext: (nextId) => nexts.get(nextId)! });
    });
    const answer: EventsAccepted = { version: session.version, cancelRequested: session.cancelRequested };
    return c.json(answer);
  });

  app.post('/sessions/:id/cancel', async (c) => {
    const id = c.req.param('id');
    await load(c, id, 'cancel');
    const session = await store.update(id, (s) => requestCancel(s, now()));
    runner.abort(id);
    return c.json({ version: session.version, cancelRequested: true }, 202);
  });

  app.post('/sessions/:id/tokens', limit, async (c) => {
    const { session } = await load(c, c.req.param('id'), 'own');
    const body = parseWith(tokenRequestSchema, await readJson(c));
    const ttl =
      body.ttlSeconds ?? (body.scope === 'report' ? config.reporterTokenTtlSeconds : config.viewerTokenTtlSeconds);
    return c.json({ token: signer.sign(session.id, body.scope, ttl), scope: body.scope, ttlSeconds: ttl }, 201);
  });

  app.delete('/sessions/:id', async (c) => {
    const id = c.req.param('id');
    await load(c, id, 'own');
    await store.delete(id);
    runner.abort(id);
    return c.body(null, 204);
  });

  app.get('/sessions/:id/stream', async (c) => {
    const id = c.req.param('id');
    await load(c, id, 'view');
    const format: StreamFormat = /text\/event-stream/i.test(requestHeader(c, 'accept') ?? '') ? 'sse' : 'ndjson';
    const after = parseWith(cursorSchema, c.req.query('after') ?? requestHeader(c, 'last-event-id'), 'after');
    const logAfter = parseWith(cursorSchema, c.req.query('logAfter'), 'logAfter');
    const body = await hub.open({
      sessionIds: [id],
      format,
      ...(after === undefined ? {} : { after }),
      ...(logAfter === undefined ? {} : { logAfter }),
      ...whenClosed(c),
    });
    return streamResponse(body, format);
  });

  app.get('/stream', async (c) => {
    const ids = c.req.queries('session') ?? [];
    const tokens = c.req.queries('token') ?? [];
    if (ids.length === 0) throw new ApiError(400, 'session: give at least one ?session=ID');
    if (ids.length > config.maxSessionsPerStream) {
      throw new ApiError(400, `session: at most ${config.maxSessionsPerStream} sessions a stream`);
    }
    if (tokens.length > 0 && tokens.length !== ids.length) {
      throw new ApiError(400, 'token: give one token per session, in the same order');
    }
    const credentials: Credential[] = ids.map((_, i) =>
      tokens[i] === undefined ? auth.identify(c) : auth.credentialOf(tokens[i], 'query'),
    );
    for (const [i, sessionId] of ids.entries()) {
      const credential = credentials[i]!;
      if (credential.kind === 'token' && credential.sessionId !== sessionId) {
        throw new ApiError(403, `token: token ${i + 1} is for another session`);
      }
      const session = await store.get(sessionId);
      if (session !== undefined) authorize(credential, 'view', session);
    }
    const format: StreamFormat = /text\/event-stream/i.test(requestHeader(c, 'accept') ?? '') ? 'sse' : 'ndjson';
    // Resume cursors, one per session in the same order (`after=` / `logAfter=` repeated; empty: none).
    const afters = c.req.queries('after') ?? [];
    const logAfters = c.req.queries('logAfter') ?? [];
    const cursors: Record<string, { after?: number; logAfter?: number }> = {};
    for (const [i, sessionId] of ids.entries()) {
      const after = parseWith(cursorSchema, afters[i] || undefined, `after.${i}`);
      const logAfter = parseWith(cursorSchema, logAfters[i] || undefined, `logAfter.${i}`);
      cursors[sessionId] = {
        ...(after === undefined ? {} : { after }),
        ...(logAfter === undefined ? {} : { logAfter }),
      };
    }
    const body = await hub.open({ sessionIds: [...new Set(ids)], format, cursors, ...whenClosed(c) });
    return streamResponse(body, format);
  });

  app.post('/sessions/:id/restart', async (c) => {
    const id = c.req.param('id');
    const { session } = await load(c, id, 'own');
    if (!session.operation) throw new ApiError(409, 'only sessions started as operations can be restarted');
    const status = toSnapshot(session, now()).status;
    if (status === 'pending' || status === 'running') throw new ApiError(409, `the session is still ${status}`);
    return c.json(await deps.restartOperation(session, baseOf(c, `/sessions/${id}/restart`)), 201);
  });

  app.post('/operations/:name', limit, async (c) => {
    const name = c.req.param('name');
    const credential = auth.identify(c);
    if (!runner.operations.has(name)) throw new ApiError(404, `unknown operation "${name}"`);
    const body = await readJson(c);
    const owner = ownerFor(credential, undefined);
    const answer = await deps.startOperation(name, body, owner, baseOf(c, `/operations/${name}`));
    return c.json(answer, 201);
  });

  return app;
}

/**
 * How the hub hears that the client went away: the Node response's `close`
 * when served by @hono/node-server (what its request signal is made from, so the
 * same moment), else the request's signal. Reading `c.req.raw.signal` makes
 * node-server create an AbortController per stream (about 1 KB each, and
 * makeTransferable showed in the stream-open profile).
 */
function whenClosed(c: Context): Pick<StreamRequest, 'signal' | 'closed'> {
  const outgoing = nodeResponse(c);
  if (outgoing !== null) return { closed: (listener) => outgoing.once('close', listener) };
  return { signal: c.req.raw.signal };
}

function streamResponse(body: ReadableStream<Uint8Array>, format: StreamFormat): Response {
  return new Response(body, {
    status: 200,
    headers: {
      ...STREAM_HEADERS,
      'Content-Type': format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    },
  });
}

const JSON_TYPE = { 'Content-Type': 'application/json' };

/**
 * JSON within `LIMITS.jsonDepth` levels, or a 400 naming where it is not.
 * Checked on every body before anything else sees it: a value nested
 * thousands deep parses fine but cannot be encoded again.
 */
function parseJsonBody(text: string, prefix: string, invalid = 'the body is not valid JSON'): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError(400, invalid);
  }
  const deep = findTooDeep(parsed, LIMITS.jsonDepth);
  if (deep !== null)
    throw new ApiError(400, `${[prefix, deep.path].filter((p) => p !== '').join('.')}: ${deep.problem}`);
  return parsed;
}

/** The events of a body: a JSON array (or one event), or NDJSON. */
async function readEvents(c: Context): Promise<unknown> {
  const type = requestHeader(c, 'content-type') ?? '';
  const text = await c.req.text();
  if (/^application\/(x-)?ndjson\b/i.test(type)) {
    const splitter = new LineSplitter();
    const lines = [...splitter.push(text), ...splitter.flush()];
    return lines.map((line, i) => parseJsonBody(line, `events.${i}`, `events[${i}]: line ${i + 1} is not valid JSON`));
  }
  if (!/^application\/json\b/i.test(type)) {
    throw new ApiError(415, 'send Content-Type: application/json (an array of events) or application/x-ndjson');
  }
  const parsed = parseJsonBody(text, 'events');
  return Array.isArray(parsed) ? parsed : [parsed];
}

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(:\d+)?$/i;
const LOOPBACK_ORIGIN = /^http:\/\/(localhost|127(?:\.\d{1,3}){3}|\[::1\])(:\d+)?$/i;

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
