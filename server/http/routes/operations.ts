/** Registered operations: `POST /operations/:name` starts one with a JSON input. */
import { Hono } from 'hono';
import { z } from 'zod';
import { LiveopError } from '../../core/errors.ts';
import type { RouteContext, RouteEnv } from '../context.ts';
import { bodyLimit } from '../middleware.ts';
import { jsonBody } from '../validate.ts';

export function operationRoutes(r: RouteContext) {
  return new Hono<RouteEnv>().post(
    '/operations/:name',
    r.auth,
    r.deps.limits.rate('create'),
    // An unknown operation is a 404 whatever the body.
    async (c, next) => {
      if (r.deps.sessions.operation(c.req.param('name')) === undefined) {
        throw new LiveopError('not_found', `unknown operation "${c.req.param('name')}"`);
      }
      await next();
    },
    bodyLimit(r.deps.config.maxBodyBytes),
    // The operation's own schema checks the input (in the service); here only that it is JSON within the limits.
    jsonBody(z.unknown()),
    async (c) => {
      const name = c.req.param('name');
      const created = await r.deps.sessions.start(
        name,
        c.req.valid('json'),
        c.get('who'),
        r.base(c, `/operations/${name}`),
      );
      return c.json(created, 201);
    },
  );
}
