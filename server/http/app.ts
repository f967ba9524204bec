/**
 * createApp(deps) → the Hono app of the HTTP contract. It never listens:
 * mount it in your own Hono app (`app.route('/progress', liveop.routes())`)
 * or serve it with `liveop.listen()`.
 *
 * The routes are sub-apps (server/http/routes/), each validating with the
 * zod schemas of server/core/schemas.ts and calling the sessions service;
 * the middleware they share is server/http/middleware.ts.
 */
import { Hono, type NotFoundHandler } from 'hono';
import { type AppDeps, RouteContext } from './context.ts';
import { ApiError, respondError } from './errors.ts';
import { cors, loopbackHostOnly } from './middleware.ts';
import { metaRoutes } from './routes/meta.ts';
import { operationRoutes } from './routes/operations.ts';
import { pageRoutes } from './routes/pages.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { streamRoutes } from './routes/streams.ts';

export function createApp(deps: AppDeps) {
  const context = new RouteContext(deps);
  const app = new Hono();
  app.onError((error, c) => respondError(c, error));
  if (deps.authenticator.open) app.use('*', loopbackHostOnly);
  app.use(
    '*',
    cors(deps.config.corsOrigins, deps.authenticator.open, undefined, () => deps.hub.now()),
  );
  const routed = app
    .route('/', metaRoutes(context))
    .route('/', sessionRoutes(context))
    .route('/', streamRoutes(context))
    .route('/', operationRoutes(context))
    .route('/', pageRoutes(context));
  app.notFound(notFound(() => routed.routes));
  return routed;
}

/**
 * Makes `app` — one that mounts Liveop's routes beside others — answer as the
 * contract says for whatever its routes do not take: errors as JSON, 404 for
 * unknown routes, 405 with `Allow` for wrong methods.
 */
export function withContractErrors<A extends Hono>(app: A): A {
  app.notFound(notFound(() => app.routes));
  app.onError((error, c) => respondError(c, error));
  return app;
}

/**
 * The contract's answer to a request no route takes: 405 with `Allow` when
 * the path exists for other methods, 404 otherwise. `routes()` lists what an
 * app answers (Hono's `app.routes`), so an app that mounts Liveop's routes
 * under a prefix can use it with its own routes.
 */
export function notFound(routes: () => readonly { method: string; path: string }[]): NotFoundHandler {
  let patterns: { method: string; pattern: RegExp }[] | null = null;
  return (c) => {
    patterns ??= routes()
      .filter((r) => r.method !== 'ALL')
      .map((r) => ({ method: r.method, pattern: pathPattern(r.path) }));
    const allowed = [...new Set(patterns.filter((r) => r.pattern.test(c.req.path)).map((r) => r.method))];
    if (allowed.length > 0) {
      c.header('Allow', [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', '));
      return respondError(
        c,
        new ApiError(405, `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(' or ')}`),
      );
    }
    return respondError(c, new ApiError(404, `no route for ${c.req.method} ${c.req.path}`));
  };
}

/** The app's type, for Hono's typed client (`hc<LiveopApp>(url)`). */
export type LiveopApp = ReturnType<typeof createApp>;

/** A Hono route path as a RegExp: `:name` one segment, `:name{re}` that pattern, the rest literal. */
function pathPattern(path: string): RegExp {
  const segments = path.split('/').map((segment) => {
    const param = /^:\w+(?:\{(.+)\})?$/.exec(segment);
    if (param) return param[1] ?? '[^/]+';
    return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${segments.join('/')}/?$`);
}
