/**
 * Who is asking, from a request: `Authorization: Bearer <key or token>`, or
 * a token (never a key) in `?token=` for clients that cannot set headers
 * (EventSource, a link).
 */
import type { Context } from 'hono';
import type { Authenticator, Credential } from '../sessions/access.ts';
import { requestHeader } from './node-bindings.ts';

/** What the routes keep on the request: who is asking (set by `RouteContext.auth`). */
export type RouteEnv = { Variables: { who: Credential } };

export function identify(c: Context, authenticator: Authenticator): Credential {
  const bearer = requestHeader(c, 'authorization')
    ?.match(/^Bearer\s+(.+)$/i)?.[1]
    ?.trim();
  return bearer === undefined
    ? authenticator.credentialOf(c.req.query('token'), 'query')
    : authenticator.credentialOf(bearer);
}
