/** createClient(): a Liveop server as a worker or a page talks to it, over fetch. */
import {
  type CreatedSession,
  type CreateSessionInput,
  type SessionList,
  type SessionListQuery,
  sessionListUrl,
} from '../protocol/index.ts';
import { request } from './http.ts';
import { type ClientOptions, resolveOptions } from './options.ts';
import { RemoteSession } from './remote-session.ts';

/** The tokens a session is attached with (each optional: a viewer needs only `viewerToken`). */
export interface SessionTokens {
  /**
   * The session's `report` token, to report with (else the client's API key).
   *
   * @default undefined
   * @example
   * ```ts
   * client.session(job.sessionId, { reporterToken: job.reporterToken });
   * ```
   */
  reporterToken?: string;
  /**
   * The session's viewer token, to read, watch (and, with `view+cancel`, cancel) with.
   *
   * @default undefined
   * @example
   * ```ts
   * client.session(id, { viewerToken: new URL(location.href).searchParams.get('token') ?? undefined });
   * ```
   */
  viewerToken?: string;
}

/** How `createSession()` creates. */
export interface CreateOptions {
  /**
   * A parent's reporter token, to create one of its children (`parent` in
   * the input) with instead of the API key: a worker holding only that token
   * can fan out.
   *
   * @default undefined (the client's API key)
   * @example
   * ```ts
   * await client.createSession({ parent: job.parentId, title: file }, { token: job.parentReporterToken });
   * ```
   */
  token?: string;
}

export interface LiveopClient {
  /**
   * Creates a session (`POST /sessions`). Retried on `429`, `503` and a
   * refused connection only: a create is not idempotent, so one that may
   * have reached the server and got no answer is not sent again.
   *
   * @example
   * ```ts
   * const session = await client.createSession({ title: 'Import', tasks: { rows: 'Rows' } });
   * ```
   */
  createSession(input?: CreateSessionInput, options?: CreateOptions): Promise<RemoteSession>;
  /**
   * A page of the sessions the client's API key may list (`GET /sessions`),
   * newest first, that `query` asks for; pass its `cursor` back for the next.
   *
   * @example
   * ```ts
   * const { sessions, cursor } = await client.listSessions({ parent: batch.id, status: ['error'] });
   * ```
   */
  listSessions(query?: SessionListQuery): Promise<SessionList>;
  /**
   * Attaches to an existing session, e.g. in a worker handed its id and
   * reporter token by the web request that created it. Sends nothing.
   *
   * @example
   * ```ts
   * const session = client.session(id, { reporterToken });
   * ```
   */
  session(id: string, tokens?: SessionTokens): RemoteSession;
}

/**
 * A client for a Liveop server. Needs only `fetch`, `AbortController`,
 * `TextDecoder`, `crypto` and timers: Node ≥ 20, Deno, Bun, browsers, workers.
 *
 * @example
 * ```ts
 * const client = createClient({ baseUrl: 'http://127.0.0.1:8080', apiKey: process.env.LIVEOP_KEY });
 * const session = await client.createSession({ title: 'Import', tasks: { rows: 'Rows' } });
 * session.steps('rows', 10, 100);
 * await session.close();
 * ```
 */
export function createClient(options: ClientOptions): LiveopClient {
  const resolved = resolveOptions(options);
  return {
    async createSession(input: CreateSessionInput = {}, options: CreateOptions = {}) {
      const created = await request<CreatedSession>(resolved, {
        method: 'POST',
        url: `${resolved.baseUrl}/sessions`,
        credential: options.token ?? resolved.apiKey,
        body: JSON.stringify(input),
        repeatable: false,
        what: 'POST /sessions',
      });
      return new RemoteSession(resolved, created);
    },
    listSessions(query: SessionListQuery = {}) {
      return request<SessionList>(resolved, {
        method: 'GET',
        url: sessionListUrl(resolved.baseUrl, query),
        credential: resolved.apiKey,
        repeatable: true,
        what: 'GET /sessions',
      });
    },
    session(id: string, tokens: SessionTokens = {}) {
      if (typeof id !== 'string' || id === '') throw new TypeError('client.session: give the session id');
      return new RemoteSession(resolved, { id, ...tokens });
    },
  };
}
