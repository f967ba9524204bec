/**
 * createApp(deps) → the Hono app of the HTTP contract. It never listens:
 * mount it in your own Hono app (`app.route('/progress', liveop.routes())`)
 * or serve it with `liveop.listen()`.
 *
 * The routes are sub-apps (server/http/routes/), each validating with the
 * zod schemas of server/core/schemas.ts and calling the sessions service;
 * the middleware they share is server/http/middleware.ts.
 */
import { Hono } from 'hono';
import { type AppDeps, RouteContext } from './context.ts';
import { ApiError, respondError } from './errors.ts';
import { cors, loopbackHostOnly } from './middleware.ts';
import { metaRoutes } from './routes/meta.ts';
import { operationRoutes } from './routes/operations.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { streamRoutes } from './routes/streams.ts';

export function createApp(deps: AppDeps) {
  const context = new RouteContext(deps);
  const app = new Hono();
  app.onError((error, c) => respondError(c, error));
  app.notFound((c) => respondError(c, new ApiError(404, `no route for ${c.req.method} ${c.req.path}`)));
  if (deps.authenticator.open) app.use('*', loopbackHostOnly);
  app.use('*', cors(deps.config.corsOrigins, deps.authenticator.open));
  return app
    .route('/', metaRoutes(context))
    .route('/', sessionRoutes(context))
    .route('/', streamRoutes(context))
    .route('/', operationRoutes(context));
}

/** The app's type, for Hono's typed client (`hc<LiveopApp>(url)`). */
export type LiveopApp = ReturnType<typeof createApp>;
