/**
 * What the routes share: the sessions service, the stream hub, who is asking,
 * and the URL prefix the caller reached the API at.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { type Authenticator, type Credential, type Right, SessionAccess } from '../sessions/access.ts';
import type { AdmitCreation, SessionService } from '../sessions/session-service.ts';
import type { StreamHub } from '../stream/hub.ts';
import { identify, type RouteEnv } from './credentials.ts';

export type { RouteEnv };

import { createKey, type Limits } from './limits.ts';
import { clientAddress } from './node-bindings.ts';
import type { StreamResponder } from './stream-response.ts';
import type { WidgetAsset, WidgetBundle } from './widget-asset.ts';

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
  maxSessionsPerStream: 50,
};

export interface AppDeps {
  sessions: SessionService;
  /** Rate limits and caps. */
  limits: Limits;
  hub: StreamHub;
  /** Writes the streams' answers (this instance's transport). */
  streams: StreamResponder;
  authenticator: Authenticator;
  config: AppConfig;
  /** Resolves when the store answers (`/healthz`). */
  ping: () => Promise<void>;
  /**
   * An element bundle — `<live-operation>`'s for `GET /widget.js`, or with
   * `'list'` `<live-operation-list>`'s for `GET /widget-list.js` — or null when not built.
   */
  widget: (bundle?: WidgetBundle) => Promise<WidgetAsset | null>;
}

/** The routes' view of the deps, with the request-bound helpers. */
export class RouteContext {
  constructor(readonly deps: AppDeps) {}

  /**
   * Identifies the caller before anything else looks at the request (401 for
   * a bad or missing credential comes before a 400 for its body), for a route
   * on no one session; a route on `:id` takes `authFor(right)`. The
   * credential is `c.get('who')` (not `c.var.who`: `c.var` builds an object
   * of every variable per read).
   */
  readonly auth: MiddlewareHandler<RouteEnv> = async (c, next) => {
    c.set('who', identify(c, this.deps.authenticator));
    await next();
  };

  /**
   * `auth` for a route that needs `right` on its `:id` session: the
   * credential is checked for it once, here, before anything reveals whether
   * that session exists (`SessionAccess.check`: a token for another session
   * or without the scope is refused), and `c.get('access')` carries the
   * outcome to the budget and the service, which check nothing again.
   */
  authFor(right: Right): MiddlewareHandler<RouteEnv> {
    return async (c, next) => {
      const who = identify(c, this.deps.authenticator);
      c.set('who', who);
      c.set('access', SessionAccess.check(c.req.param('id') ?? '', who, right));
      await next();
    };
  }

  /** Counts a session this request creates against its owner's creation limit (or, with none, the client's address). */
  admit(c: Context): AdmitCreation {
    return (owner) => this.deps.limits.take('create', createKey(owner, clientAddress(c)));
  }

  /** Who is asking (401 for a bad or missing credential). */
  who(c: Context): Credential {
    return identify(c, this.deps.authenticator);
  }

  /** The URL prefix this app is mounted at, as the caller reaches it (`suffix`: the route's own path). */
  base(c: Context, suffix: string): string {
    const { publicUrl } = this.deps.config;
    if (publicUrl) return publicUrl.replace(/\/$/, '');
    const url = new URL(c.req.url);
    const path = url.pathname.endsWith(suffix) ? url.pathname.slice(0, -suffix.length) : '';
    return `${url.origin}${path}`;
  }
}
