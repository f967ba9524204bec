/**
 * Where things are on a Liveop server, and what a token may do: the one
 * place clients and the server build the contract's URLs and read scopes.
 * `base` is the server's URL as mounted, without a trailing slash
 * (`https://host` or `https://host/progress`).
 */
import type { Cursor } from './follower.ts';
import type { TokenScope } from './wire.ts';

/** `GET` a session's snapshot (`POST …/events`, `…/cancel`, `…/tokens`, `…/restart` hang from it). */
export const sessionUrl = (base: string, id: string): string => `${base}/sessions/${encodeURIComponent(id)}`;

/** A session's stream. */
export const sessionStreamUrl = (base: string, id: string): string => `${sessionUrl(base, id)}/stream`;

/** An action on a session: `events`, `cancel`, `tokens`, `restart`. */
export const sessionActionUrl = (base: string, id: string, action: 'events' | 'cancel' | 'tokens' | 'restart') =>
  `${sessionUrl(base, id)}/${action}`;

/** One session of a multiplexed stream, with its credential and cursor. */
export interface StreamedSession {
  id: string;
  token?: string | undefined;
  cursor?: Cursor | null | undefined;
}

/**
 * The stream of `sessions`: one session's own stream, or several
 * multiplexed on `GET /stream` (a `session`, and a `token` and cursor when
 * any has one, per session in the same order). Tokens go in the URL only for
 * several sessions or when asked (`tokenInUrl`: EventSource, a link); one
 * session's goes in the `Authorization` header.
 */
export function streamUrl(base: string, sessions: readonly StreamedSession[], tokenInUrl = false): URL {
  const many = sessions.length > 1;
  const [first] = sessions;
  if (first === undefined) throw new Error('streamUrl: no session');
  const url = new URL(many ? `${base}/stream` : sessionStreamUrl(base, first.id));
  const params = url.searchParams;
  const tokens = (many || tokenInUrl) && sessions.some((s) => s.token);
  const cursors = sessions.some((s) => s.cursor && (s.cursor.after > 0 || s.cursor.logAfter > 0));
  for (const session of sessions) {
    if (many) params.append('session', session.id);
    if (tokens) params.append('token', session.token ?? '');
    if (cursors) {
      params.append('after', String(session.cursor?.after ?? 0));
      params.append('logAfter', String(session.cursor?.logAfter ?? 0));
    }
  }
  return url;
}

/** `url` with a resume cursor (none before anything was received). */
export function withCursor(url: string | URL, cursor: Cursor | null): URL {
  const out = new URL(url);
  if (cursor !== null && (cursor.after > 0 || cursor.logAfter > 0)) {
    out.searchParams.set('after', String(cursor.after));
    out.searchParams.set('logAfter', String(cursor.logAfter));
  }
  return out;
}

/** `url` with `?token=` when there is a token (open servers need none). */
export function withToken(url: string, token: string | undefined): string {
  return token ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : url;
}

/** What a session token may do. */
export type TokenRight = 'view' | 'cancel' | 'report';

const SCOPE_RIGHTS: Record<TokenScope, readonly TokenRight[]> = {
  view: ['view'],
  'view+cancel': ['view', 'cancel'],
  report: ['view', 'cancel', 'report'],
};

/** Whether a token of `scope` holds `right`. */
export const scopeAllows = (scope: TokenScope, right: TokenRight): boolean => SCOPE_RIGHTS[scope].includes(right);

/**
 * The scope written in a token's payload (`base64url(JSON).signature`), for
 * a page deciding what to show (a cancel button); null when unreadable. Only
 * the server can tell whether the token is genuine, and it still checks.
 */
export function scopeOf(token: string): TokenScope | null {
  try {
    const body = token.split('.')[0] ?? '';
    const scope = JSON.parse(atob(body.replace(/-/g, '+').replace(/_/g, '/'))).scope;
    return Object.hasOwn(SCOPE_RIGHTS, scope) ? (scope as TokenScope) : null;
  } catch {
    return null;
  }
}
