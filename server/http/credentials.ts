/**
 * Who is asking, from a request: `Authorization: Bearer <key or token>`, or
 * a token (never a key) in `?token=` for clients that cannot set headers
 * (EventSource, a link).
 */
import type { Context } from 'hono';
import { LiveopError } from '../core/errors.ts';
import type { Authenticator, Credential, SessionAccess } from '../sessions/access.ts';
import { requestHeader } from './node-bindings.ts';

/**
 * What the routes keep on the request, set by `RouteContext.auth`: who is
 * asking, and on a route that names its right, that right on the route's
 * session, checked.
 */
export type RouteEnv = { Variables: { who: Credential; access: SessionAccess } };

export function identify(c: Context, authenticator: Authenticator): Credential {
  const bearer = requestHeader(c, 'authorization')
    ?.match(/^Bearer\s+(.+)$/i)?.[1]
    ?.trim();
  const inUrl = c.req.query('token');
  if (bearer === undefined) return authenticator.credentialOf(inUrl, 'query');
  // The header decides, but an API key put in the URL is refused all the same: it is in logs and history now.
  if (inUrl !== undefined && authenticator.isApiKey(inUrl)) {
    throw new LiveopError('unauthorized', 'token: API keys go only in the Authorization header, never in a URL');
  }
  return authenticator.credentialOf(bearer);
}
