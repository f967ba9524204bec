/** Sessions: create, list, read, report, cancel, mint tokens, delete, restart. */
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import {
  createSessionSchema,
  eventBatchSchema,
  idempotencyKeySchema,
  parse,
  tokenRequestSchema,
} from '../../core/schemas.ts';
import { authorize } from '../../sessions/access.ts';
import type { RouteContext, RouteEnv } from '../context.ts';
import { bodyLimit } from '../middleware.ts';
import { requestHeader } from '../node-bindings.ts';
import { snapshotJson } from '../unservable.ts';
import { jsonBody, queryOf } from '../validate.ts';

const JSON_TYPE = { 'Content-Type': 'application/json' };

export const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
  /** Only sessions in these statuses (comma-separated): `running,pending`. */
  status: z
    .string()
    .max(100)
    .regex(
      /^(pending|running|complete|error|cancelled)(,(pending|running|complete|error|cancelled))*$/,
      'statuses, comma-separated',
    )
    .optional(),
  /** Only sessions whose title contains this (any case). */
  q: z.string().max(200).optional(),
});

export function sessionRoutes(r: RouteContext) {
  const { sessions, config } = r.deps;
  const limit = bodyLimit(config.maxBodyBytes);
  const { auth } = r;
  const { limits } = r.deps;
  /**
   * A session's event budget is its reporters': a token that may not report
   * is refused before it is counted, and each key counts in a share of its
   * own, so a viewer or another owner cannot spend it and lock the reporter
   * out with 429s. (A key's owner is checked inside the update, with no read.)
   */
  const eventBudget: MiddlewareHandler<RouteEnv> = async (c, next) => {
    const id = c.req.param('id') ?? '';
    const who = c.get('who');
    if (who.kind === 'token') authorize(who, 'report', { id, owner: null });
    await limits.take('events', who.kind === 'key' ? `session:${id}:owner:${who.owner}` : `session:${id}`);
    await next();
  };
  return new Hono<RouteEnv>()
    .post('/sessions', auth, limits.rate('create'), limit, jsonBody(createSessionSchema), async (c) => {
      const { created } = await sessions.create(c.req.valid('json'), c.get('who'), r.base(c, '/sessions'));
      return c.json(created, 201);
    })
    .get('/sessions', auth, queryOf(listQuerySchema), async (c) => {
      const page = await sessions.list(c.get('who'), c.req.valid('query'));
      const now = r.deps.hub.now();
      const base = r.base(c, '/sessions');
      // Each entry with what a list page needs to open it live: its stream URL and a view-only token.
      // Encoded one by one, so one session that cannot be encoded does not fail the page.
      const list = page.sessions.map((s) =>
        snapshotJson(
          s,
          now,
          { logAfter: s.logSeq },
          {
            owner: s.owner,
            streamUrl: `${base}/sessions/${s.id}/stream`,
            viewerToken: sessions.viewToken(s.id),
          },
        ),
      );
      return c.body(`{"sessions":[${list.join(',')}],"cursor":${JSON.stringify(page.cursor)}}`, 200, JSON_TYPE);
    })
    .get('/sessions/:id', auth, async (c) => {
      const session = await sessions.read(c.req.param('id'), c.get('who'));
      // An error's detail (a stack trace) is the owner's: keys (and open mode), never tokens.
      const detail = session.errorDetail !== undefined && c.get('who').kind !== 'token';
      const json = snapshotJson(
        session,
        r.deps.hub.now(),
        {},
        detail ? { errorDetail: session.errorDetail } : undefined,
      );
      return c.body(json, 200, { ...JSON_TYPE, 'Cache-Control': 'no-store' });
    })
    .post(
      '/sessions/:id/events',
      auth,
      eventBudget,
      limit,
      jsonBody(eventBatchSchema, { prefix: 'events', events: true }),
      async (c) => {
        const id = c.req.param('id');
        const events = c.req.valid('json');
        const header = requestHeader(c, 'idempotency-key');
        const idempotencyKey =
          header === undefined ? undefined : parse(idempotencyKeySchema, header, 'Idempotency-Key');
        // The base costs a URL parse: made only if a chain asks for it.
        const base = () => r.base(c, `/sessions/${id}/events`);
        const options = idempotencyKey === undefined ? { base } : { base, idempotencyKey };
        return c.json(await sessions.report(id, events, c.get('who'), options));
      },
    )
    .post('/sessions/:id/cancel', auth, async (c) => {
      return c.json(await sessions.cancel(c.req.param('id'), c.get('who')), 202);
    })
    .post('/sessions/:id/tokens', auth, limits.rate('tokens'), limit, jsonBody(tokenRequestSchema), async (c) => {
      return c.json(await sessions.mintToken(c.req.param('id'), c.req.valid('json'), c.get('who')), 201);
    })
    .delete('/sessions/:id', auth, async (c) => {
      await sessions.remove(c.req.param('id'), c.get('who'));
      return c.body(null, 204);
    })
    .post('/sessions/:id/restart', auth, limits.rate('create'), async (c) => {
      const id = c.req.param('id');
      return c.json(await sessions.restart(id, c.get('who'), r.base(c, `/sessions/${id}/restart`)), 201);
    });
}
