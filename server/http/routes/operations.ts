/** Registered operations: `POST /operations/:name` starts one with a JSON input. */
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { LiveopError } from '../../core/errors.ts';
import type { RouteContext, RouteEnv } from '../context.ts';
import { addressKey } from '../limits.ts';
import { bodyLimit } from '../middleware.ts';
import { clientAddress, requestHeader } from '../node-bindings.ts';
import { jsonBody } from '../validate.ts';

type OperationEnv = RouteEnv & { Variables: { visitor?: boolean } };

export function operationRoutes(r: RouteContext) {
  const { sessions, limits, authenticator } = r.deps;
  /**
   * Who starts it: a credential, as on every route (401 without one); or, for
   * an operation registered with `visitors: true`, a request that carries no
   * credential at all — a page's visitor — counted per client address. A
   * request with a credential never falls back to the visitor's rights.
   */
  const starter: MiddlewareHandler<OperationEnv> = async (c, next) => {
    const credentialSent = requestHeader(c, 'authorization') !== undefined || c.req.query('token') !== undefined;
    if (!credentialSent && !authenticator.open && sessions.operation(c.req.param('name') ?? '')?.visitors === true) {
      c.set('visitor', true);
      await limits.take('visitors', addressKey(clientAddress(c)));
      return next();
    }
    return r.auth(c, next);
  };
  return new Hono<OperationEnv>().post(
    '/operations/:name',
    starter,
    // An unknown operation is a 404 whatever the body.
    async (c, next) => {
      if (sessions.operation(c.req.param('name')) === undefined) {
        throw new LiveopError('not_found', `unknown operation "${c.req.param('name')}"`);
      }
      await next();
    },
    bodyLimit(r.deps.config.maxBodyBytes),
    // The operation's own schema checks the input (in the service); here only that it is JSON within the limits.
    jsonBody(z.unknown()),
    async (c) => {
      const name = c.req.param('name');
      const base = r.base(c, `/operations/${name}`);
      const input = c.req.valid('json');
      if (c.get('visitor')) return c.json(await sessions.startForVisitor(name, input, base), 201);
      return c.json(await sessions.start(name, input, c.get('who'), base, { admit: r.admit(c) }), 201);
    },
  );
}
