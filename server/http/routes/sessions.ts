/** Sessions: create, list, read, report, cancel, mint tokens, delete, restart. */
import { Hono } from 'hono';
import { sessionStreamUrl } from '../../../protocol/index.ts';
import { outputEnds } from '../../core/outputs.ts';
import {
  createSessionSchema,
  eventBatchSchema,
  idempotencyKeySchema,
  parse,
  subjectTokenRequestSchema,
  tokenRequestSchema,
} from '../../core/schemas.ts';
import type { RouteContext, RouteEnv } from '../context.ts';
import { listQuerySchema, toListQuery } from '../list-query.ts';
import { listStream, wantsStream } from '../list-stream-response.ts';
import { bodyLimit } from '../middleware.ts';
import { requestHeader } from '../node-bindings.ts';
import { snapshotJson } from '../snapshot-json.ts';
import { jsonBody, queryOf } from '../validate.ts';

const JSON_TYPE = { 'Content-Type': 'application/json' };

export function sessionRoutes(r: RouteContext) {
  const { sessions, config } = r.deps;
  const limit = bodyLimit(config.maxBodyBytes);
  const { auth } = r;
  const { limits } = r.deps;
  return new Hono<RouteEnv>()
    .post('/sessions', auth, limit, jsonBody(createSessionSchema), async (c) => {
      const { created } = await sessions.create(c.req.valid('json'), c.get('who'), r.base(c, '/sessions'), {
        admit: r.admit(c),
      });
      return c.json(created, 201);
    })
    .get('/sessions', auth, limits.rate('lists'), queryOf(listQuerySchema), async (c) => {
      const { limit, cursor, ...query } = c.req.valid('query');
      const page = await sessions.list(c.get('who'), { limit, cursor, ...toListQuery(query) });
      if (wantsStream(c)) return listStream(r, c, page.sessions, toListQuery(query));
      const now = r.deps.hub.now();
      const base = r.base(c, '/sessions');
      // Each entry with what a list page needs to open it live: its stream URL and a view-only token.
      // Encoded one by one, so one session that cannot be encoded does not fail the page.
      const list = page.sessions.map((s) =>
        snapshotJson(
          s,
          now,
          { logAfter: s.logSeq, outputAfter: outputEnds(s) },
          {
            owner: s.owner,
            ...(s.subject === undefined ? {} : { subject: s.subject }),
            // A list offers restart only for what the server can run again.
            ...(s.operation === undefined ? {} : { operation: s.operation.name }),
            streamUrl: sessionStreamUrl(base, s.id),
            viewerToken: sessions.viewToken(s.id, c.get('who')),
          },
        ),
      );
      return c.body(`{"sessions":[${list.join(',')}],"cursor":${JSON.stringify(page.cursor)}}`, 200, JSON_TYPE);
    })
    .get('/sessions/:id', r.authFor('view'), async (c) => {
      const session = await sessions.readWith(c.get('access'));
      // An error's detail (a stack trace) and the end user are the owner's: keys (and open mode), never tokens.
      const { kind } = c.get('who');
      const owners = kind !== 'token' && kind !== 'subject';
      const extra = {
        ...(owners && session.errorDetail !== undefined ? { errorDetail: session.errorDetail } : {}),
        ...(owners && session.subject !== undefined ? { subject: session.subject } : {}),
      };
      const json = snapshotJson(session, r.deps.hub.now(), {}, Object.keys(extra).length > 0 ? extra : undefined);
      return c.body(json, 200, { ...JSON_TYPE, 'Cache-Control': 'no-store' });
    })
    .post(
      '/sessions/:id/events',
      r.authFor('report'),
      limits.events,
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
        return c.json(await sessions.report(c.get('access'), events, options));
      },
    )
    .post('/sessions/:id/cancel', r.authFor('cancel'), async (c) => {
      return c.json(await sessions.cancel(c.get('access')), 202);
    })
    .post('/tokens', auth, limits.rate('tokens'), limit, jsonBody(subjectTokenRequestSchema), async (c) => {
      return c.json(sessions.mintSubjectToken(c.req.valid('json'), c.get('who')), 201);
    })
    .post(
      '/sessions/:id/tokens',
      r.authFor('own'),
      limits.rate('tokens'),
      limit,
      jsonBody(tokenRequestSchema),
      async (c) => {
        return c.json(await sessions.mintToken(c.get('access'), c.req.valid('json')), 201);
      },
    )
    .delete('/sessions/:id', r.authFor('own'), async (c) => {
      await sessions.remove(c.get('access'));
      return c.body(null, 204);
    })
    .post('/sessions/:id/restart', r.authFor('own'), async (c) => {
      const base = r.base(c, `/sessions/${c.req.param('id')}/restart`);
      return c.json(await sessions.restart(c.get('access'), base, r.admit(c)), 201);
    });
}
