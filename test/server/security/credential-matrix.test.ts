/**
 * Every endpoint × every credential, each cell with its exact status. A
 * refused request changes nothing — the session's version, logs and cancel
 * flag are as before, no session is created or deleted, and its reporter's
 * event budget is untouched — and an allowed one does what it says.
 *
 * The statuses are docs/protocol.md's: a bad signature, an expired token or an
 * unknown key is 401 (so is a key in a URL); a token for another session, a
 * scope without the right, or another owner's key is 403.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorStatus } from '../../../protocol/index.ts';
import { applyEvents } from '../../../server/core/reducer.ts';
import { TokenSigner } from '../../../server/sessions/access.ts';
import { bearer, post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';

const ANN = 'ann-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';
const ADMIN = 'admin-key-0123456789abcdef';

/** The server verifies with CURRENT and PREVIOUS (a rotation under way); RETIRED was dropped before. */
const CURRENT = 'the-current-secret-0123456789abcdef';
const PREVIOUS = 'the-previous-secret-0123456789abcdef';
const RETIRED = 'a-retired-secret-0123456789abcdef';
const current = new TokenSigner(CURRENT);
const previous = new TokenSigner(PREVIOUS);
const retired = new TokenSigner(RETIRED);

let server: TestServer;
beforeAll(async () => {
  server = await startServer({
    apiKeys: { [ANN]: { owner: 'ann' }, [BOB]: { owner: 'bob' }, [ADMIN]: { owner: 'ops', admin: true } },
    secret: [CURRENT, PREVIOUS],
    runner: 'inline',
    // One event post a minute per session and reporter: a refused post that spent it would show.
    rateLimits: {
      events: { points: 1, seconds: 60 },
      create: { points: 100_000, seconds: 1 },
      streams: { points: 100_000, seconds: 1 },
      tokens: { points: 100_000, seconds: 1 },
    },
  });
  // An operation that fails at once: its sessions end (`error`), so they may be restarted.
  server.liveop.operation('fails', {
    run: () => {
      throw new Error('fails at once');
    },
  });
  other = (await post(`${server.url}/sessions`, { title: 'Other' }, bearer(ANN))).body.id;
});
afterAll(() => server.close());

/** Another session of the same owner, whose token is "another session's token". */
let other: string;

/** What a cell is about: the session its `:id` names, owned by ann. */
interface Target {
  id: string;
  /** Its own reporter token, to check its event budget is untouched. */
  reporterToken: string;
}

/** A credential: sent as `Authorization: Bearer`, or in the URL (`?token=`). */
interface Credential {
  bearer?: string;
  inUrl?: string;
}

const tampered = (token: string): string => {
  const [body, mac] = token.split('.') as [string, string];
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
  return `${Buffer.from(JSON.stringify({ ...payload, scope: 'report' })).toString('base64url')}.${mac}`;
};

/** The columns. */
const CREDENTIALS: [string, (t: Target) => Credential][] = [
  ['no credential', () => ({})],
  ['a wrong key', () => ({ bearer: 'not-a-key-0123456789abcdef' })],
  ['another owner’s key', () => ({ bearer: BOB })],
  ['the owner’s key', () => ({ bearer: ANN })],
  ['an admin key', () => ({ bearer: ADMIN })],
  ['a view token', (t) => ({ bearer: current.sign(t.id, 'view', 600) })],
  ['a view+cancel token', (t) => ({ bearer: current.sign(t.id, 'view+cancel', 600) })],
  ['a report token', (t) => ({ bearer: current.sign(t.id, 'report', 600) })],
  ['another session’s token', () => ({ bearer: current.sign(other, 'report', 600) })],
  ['an expired token', (t) => ({ bearer: current.sign(t.id, 'report', -60) })],
  ['a tampered token (view → report)', (t) => ({ bearer: tampered(current.sign(t.id, 'view', 600)) })],
  ['a token signed with a retired secret', (t) => ({ bearer: retired.sign(t.id, 'report', 600) })],
  ['a report token signed with the previous secret', (t) => ({ bearer: previous.sign(t.id, 'report', 600) })],
  ['the owner’s key in the URL', () => ({ inUrl: ANN })],
  // The target is made for ann's end user u1: these see u1's sessions and no others.
  ['the subject’s view token', () => ({ bearer: current.signSubject('ann', 'u1', 'view', 600) })],
  ['the subject’s view+cancel token', () => ({ bearer: current.signSubject('ann', 'u1', 'view+cancel', 600) })],
  ['another subject’s token', () => ({ bearer: current.signSubject('ann', 'u2', 'view+cancel', 600) })],
];

/** What the store says, before and after a cell. */
interface State {
  version: number | undefined;
  logs: string[];
  cancelRequested: boolean | undefined;
  /** Where it points viewers (a chain, a restart). */
  next: string | null;
  sessions: number;
}

async function state(t: Target): Promise<State> {
  const session = await server.store.get(t.id);
  const { sessions } = await server.store.list({ limit: 100_000 });
  return {
    version: session?.version,
    logs: session?.logs.map((l) => l.line) ?? [],
    cancelRequested: session?.cancelRequested,
    next: session?.next?.id ?? null,
    sessions: sessions.length,
  };
}

interface Endpoint {
  method: string;
  /** The path, with the credential in the URL when it goes there (`?token=`). */
  path(t: Target, inUrl: string | undefined): string;
  body?: unknown;
  /** Tokens go in the URL here (`&token=`), as the contract has it; keys stay in the header. */
  tokensInUrl?: boolean;
  /** Its `:id` is a finished operation's session. */
  operation?: boolean;
  /** What an allowed call did; a refused one must change nothing. */
  allowed(t: Target, before: State, after: State, answer: Answer, who: string): void | Promise<void>;
}

interface Answer {
  status: number;
  body: unknown;
}

const query = (token: string | undefined, sep = '?') => (token === undefined ? '' : `${sep}token=${token}`);
const unchanged = (_t: Target, before: State, after: State) => expect(after).toEqual(before);
const created = (_t: Target, before: State, after: State, answer: Answer) => {
  expect(after).toEqual({ ...before, sessions: before.sessions + 1 });
  expect(answer.body).toMatchObject({ id: expect.any(String), viewerToken: expect.any(String) });
};

const ENDPOINTS: Record<string, Endpoint> = {
  'POST /sessions': { method: 'POST', path: (_, q) => `/sessions${query(q)}`, body: { title: 'T' }, allowed: created },
  'GET /sessions': {
    method: 'GET',
    path: (_, q) => `/sessions?limit=100${query(q, '&')}`,
    allowed: (t, before, after, answer, who) => {
      unchanged(t, before, after);
      // The target is ann's, for her end user u1: her key, the admin's and u1's tokens list it, nobody else's does.
      const ids = (answer.body as { sessions: { id: string }[] }).sessions.map((s) => s.id);
      expect(ids.includes(t.id)).toBe(who !== 'another owner’s key' && who !== 'another subject’s token');
    },
  },
  'GET /sessions/:id': {
    method: 'GET',
    path: (t, q) => `/sessions/${t.id}${query(q)}`,
    allowed: (t, before, after, answer) => {
      unchanged(t, before, after);
      expect(answer.body).toMatchObject({ type: 'snapshot', id: t.id });
    },
  },
  'POST /sessions/:id/events': {
    method: 'POST',
    path: (t, q) => `/sessions/${t.id}/events${query(q)}`,
    body: [{ type: 'log', line: 'from the matrix' }],
    allowed: (_t, before, after) =>
      expect(after).toEqual({ ...before, version: before.version! + 1, logs: [...before.logs, 'from the matrix'] }),
  },
  'POST /sessions/:id/cancel': {
    method: 'POST',
    path: (t, q) => `/sessions/${t.id}/cancel${query(q)}`,
    allowed: (_t, before, after) =>
      expect(after).toEqual({ ...before, version: before.version! + 1, cancelRequested: true }),
  },
  'POST /sessions/:id/tokens': {
    method: 'POST',
    path: (t, q) => `/sessions/${t.id}/tokens${query(q)}`,
    body: { scope: 'view' },
    allowed: (t, before, after, answer) => {
      unchanged(t, before, after);
      expect(current.verify((answer.body as { token: string }).token)).toMatchObject({ sid: t.id, scope: 'view' });
    },
  },
  'DELETE /sessions/:id': {
    method: 'DELETE',
    path: (t, q) => `/sessions/${t.id}${query(q)}`,
    allowed: (_t, before, after) =>
      expect(after).toEqual({
        version: undefined,
        logs: [],
        cancelRequested: undefined,
        next: null,
        sessions: before.sessions - 1,
      }),
  },
  'GET /sessions/:id/stream': {
    method: 'GET',
    path: (t, q) => `/sessions/${t.id}/stream${query(q)}`,
    allowed: (t, before, after, answer) => {
      unchanged(t, before, after);
      expect(answer.body).toMatchObject({ type: 'snapshot', id: t.id });
    },
  },
  'GET /stream?session=…': {
    method: 'GET',
    path: (t, q) => `/stream?session=${t.id}${query(q, '&')}`,
    tokensInUrl: true,
    allowed: (t, before, after, answer) => {
      unchanged(t, before, after);
      expect(answer.body).toMatchObject({ type: 'snapshot', id: t.id });
    },
  },
  'POST /sessions/:id/restart': {
    method: 'POST',
    path: (t, q) => `/sessions/${t.id}/restart${query(q)}`,
    operation: true,
    // A new session, and the old one points its viewers at it.
    allowed: (_t, before, after, answer) => {
      const { id } = answer.body as { id: string };
      expect(after).toEqual({ ...before, version: before.version! + 1, next: id, sessions: before.sessions + 1 });
    },
  },
  'POST /operations/:name': {
    method: 'POST',
    path: (_, q) => `/operations/fails${query(q)}`,
    body: {},
    allowed: created,
  },
  'POST /tokens': {
    method: 'POST',
    path: (_, q) => `/tokens${query(q)}`,
    body: { subject: 'u1' },
    allowed: (t, before, after, answer) => {
      unchanged(t, before, after);
      expect(current.verify((answer.body as { token: string }).token)).toMatchObject({ sub: 'u1', scope: 'view' });
    },
  },
};

// biome-ignore format: the table reads best as a table
const EXPECTED: Record<keyof typeof ENDPOINTS, number[]> = {
  //                           none  wrong  other  owner  admin  view  v+c  report  other   expired  tampered  retired  previous  key     subject subject another
  //                                  key   owner                                   session                                      in URL  view    v+c     subject
  'POST /sessions':             [401,  401,   201,   201,   201,   403,  403,  403,   403,    401,     401,      401,     403,      401,    403,    403,    403],
  'GET /sessions':              [401,  401,   200,   200,   200,   403,  403,  403,   403,    401,     401,      401,     403,      401,    200,    200,    200],
  'GET /sessions/:id':          [401,  401,   403,   200,   200,   200,  200,  200,   403,    401,     401,      401,     200,      401,    200,    200,    403],
  'POST /sessions/:id/events':  [401,  401,   403,   200,   200,   403,  403,  200,   403,    401,     401,      401,     200,      401,    403,    403,    403],
  'POST /sessions/:id/cancel':  [401,  401,   403,   202,   202,   403,  202,  202,   403,    401,     401,      401,     202,      401,    403,    202,    403],
  'POST /sessions/:id/tokens':  [401,  401,   403,   201,   201,   403,  403,  201,   403,    401,     401,      401,     201,      401,    403,    403,    403],
  'DELETE /sessions/:id':       [401,  401,   403,   204,   204,   403,  403,  204,   403,    401,     401,      401,     204,      401,    403,    403,    403],
  'GET /sessions/:id/stream':   [401,  401,   403,   200,   200,   200,  200,  200,   403,    401,     401,      401,     200,      401,    200,    200,    403],
  'GET /stream?session=…':      [401,  401,   403,   200,   200,   200,  200,  200,   403,    401,     401,      401,     200,      401,    200,    200,    403],
  'POST /sessions/:id/restart': [401,  401,   403,   201,   201,   403,  403,  201,   403,    401,     401,      401,     201,      401,    403,    403,    403],
  'POST /operations/:name':     [401,  401,   201,   201,   201,   403,  403,  403,   403,    401,     401,      401,     403,      401,    403,    403,    403],
  'POST /tokens':               [401,  401,   201,   201,   201,   403,  403,  403,   403,    401,     401,      401,     403,      401,    403,    403,    403],
};

const CELLS = Object.entries(EXPECTED).flatMap(([endpoint, statuses]) =>
  CREDENTIALS.map(([who], i) => [endpoint, who, statuses[i]!] as const),
);

/** A fresh session of ann's, with a log line: a plain one, or a finished operation's. */
async function target(operation: boolean): Promise<Target> {
  const made = operation
    ? await post(`${server.url}/operations/fails`, {}, bearer(ANN))
    : await post(`${server.url}/sessions`, { title: 'Target', tasks: { a: 'A' }, subject: 'u1' }, bearer(ANN));
  expect(made.status).toBe(201);
  // The operation's own failure is written after the answer: the cell starts once it is.
  if (operation) await expect.poll(async () => (await server.liveop.snapshot(made.body.id)).status).toBe('error');
  // Written past the HTTP edge, so that no event budget is spent before the cell.
  if (!operation)
    await server.store.update(made.body.id, (s) => applyEvents(s, [{ type: 'log', line: 'before' }], Date.now()));
  return { id: made.body.id, reporterToken: made.body.reporterToken };
}

/** Sends the cell's request; a stream's body is its first line, read and then let go. */
async function send(endpoint: Endpoint, t: Target, credential: Credential): Promise<Answer & { type: string }> {
  const inUrl =
    credential.inUrl ?? (endpoint.tokensInUrl && credential.bearer?.includes('.') ? credential.bearer : undefined);
  const header = inUrl === credential.bearer ? undefined : credential.bearer;
  const controller = new AbortController();
  const response = await fetch(`${server.url}${endpoint.path(t, inUrl)}`, {
    method: endpoint.method,
    headers: {
      ...(header === undefined ? {} : bearer(header)),
      ...(endpoint.body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(endpoint.body === undefined ? {} : { body: JSON.stringify(endpoint.body) }),
    signal: controller.signal,
  });
  const type = response.headers.get('content-type') ?? '';
  let text = '';
  if (type.startsWith('application/x-ndjson')) {
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    while (!text.includes('\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    controller.abort();
    text = text.slice(0, text.indexOf('\n'));
  } else {
    text = await response.text();
  }
  return { status: response.status, type, body: text === '' ? null : JSON.parse(text) };
}

describe('the credential matrix', () => {
  it('has a status for every endpoint and credential', () => {
    expect(Object.values(EXPECTED).every((row) => row.length === CREDENTIALS.length)).toBe(true);
    expect(CELLS).toHaveLength(12 * 17);
  });

  it.each(CELLS)('%s with %s → %i', async (name, who, status) => {
    const endpoint = ENDPOINTS[name]!;
    const t = await target(endpoint.operation ?? false);
    const credential = CREDENTIALS.find(([w]) => w === who)![1](t);
    const before = await state(t);
    const answer = await send(endpoint, t, credential);
    expect(answer.status).toBe(status);
    const after = await state(t);
    if (status < 400) {
      await endpoint.allowed(t, before, after, answer, who);
      return;
    }
    expect(answer.type).toMatch(/^application\/json/);
    expect(answer.body).toEqual({ error: { code: ERROR_CODES[status as ErrorStatus], message: expect.any(String) } });
    expect(after).toEqual(before);
    if (endpoint.operation) return; // ended: it takes no events to tell
    // Nor did it spend the reporter's event budget (one post a minute here).
    const reporter = await post(
      `${server.url}/sessions/${t.id}/events`,
      [{ type: 'heartbeat' }],
      bearer(t.reporterToken),
    );
    expect(reporter.status).toBe(200);
  });
});
