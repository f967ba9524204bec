/** Streams: one session's (`GET /sessions/:id/stream`), or several multiplexed (`GET /stream`). */
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { LiveopError } from '../../core/errors.ts';
import { parse } from '../../core/schemas.ts';
import type { Credential } from '../../sessions/access.ts';
import { renewalLifetime } from '../../sessions/session-service.ts';
import type { Cursor, Subscription } from '../../stream/hub.ts';
import type { RouteContext, RouteEnv } from '../context.ts';
import { addressKey, limitKey } from '../limits.ts';
import { clientAddress, requestHeader } from '../node-bindings.ts';
import { formatOf } from '../stream-response.ts';

const cursorSchema = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional();

/** A cursor from query values (or `Last-Event-ID`), each checked, naming the field. */
function cursorOf(after: string | undefined, logAfter: string | undefined, suffix = ''): Cursor {
  const a = parse(cursorSchema, after || undefined, `after${suffix}`);
  const l = parse(cursorSchema, logAfter || undefined, `logAfter${suffix}`);
  return { ...(a === undefined ? {} : { after: a }), ...(l === undefined ? {} : { logAfter: l }) };
}

export function streamRoutes(r: RouteContext) {
  const { sessions, hub, streams, config, authenticator, limits } = r.deps;
  /**
   * A viewer whose stream outlives its token gets a fresh one on the stream,
   * before the one it holds expires (half its lifetime before, at most ten
   * minutes), so a page open on a long job never turns into a 401. Each
   * renewal is granted what the creator granted the first token, no more.
   */
  const renewal = (subscription: Subscription, who: Credential) => {
    if (who.kind !== 'token' || who.scope === 'report') return;
    const renewBeforeMs = Math.min(600_000, (renewalLifetime(who, config.viewerTokenTtlSeconds) * 1000) / 2);
    subscription.at(who.exp * 1000 - renewBeforeMs, () => {
      const fresh = sessions.renewViewerToken(who)!;
      return {
        line: {
          type: 'token',
          id: who.sessionId,
          token: fresh.token,
          expiresAt: new Date(fresh.exp * 1000).toISOString(),
        },
        next: fresh.exp * 1000 - renewBeforeMs,
      };
    });
  };
  /** A stream slot under the caps, held until the subscription closes. */
  const open = async (c: Context, wanted: Map<string, Cursor>, viewers: Credential[]) => {
    const release = limits.openStream(clientAddress(c));
    try {
      const subscription = await hub.subscribe(wanted);
      for (const who of viewers) renewal(subscription, who);
      return streams.respond(c, subscription, formatOf(c), release);
    } catch (error) {
      release();
      throw error;
    }
  };
  return new Hono<RouteEnv>()
    .get('/sessions/:id/stream', r.authFor('view'), async (c) => {
      const id = c.req.param('id');
      const who = c.get('who');
      await sessions.readWith(c.get('access'));
      await limits.take('streams', limitKey(who, clientAddress(c)));
      const cursor = cursorOf(c.req.query('after') ?? requestHeader(c, 'last-event-id'), c.req.query('logAfter'));
      return open(c, new Map([[id, cursor]]), [c.get('who')]);
    })
    .get('/stream', async (c) => {
      await limits.take('streams', addressKey(clientAddress(c)));
      const ids = c.req.queries('session') ?? [];
      const tokens = c.req.queries('token') ?? [];
      if (ids.length === 0) throw new LiveopError('invalid', 'session: give at least one ?session=ID');
      if (ids.length > config.maxSessionsPerStream) {
        throw new LiveopError('invalid', `session: at most ${config.maxSessionsPerStream} sessions a stream`);
      }
      if (tokens.length > 0 && tokens.length !== ids.length) {
        throw new LiveopError('invalid', 'token: give one token per session, in the same order');
      }
      // Resume cursors, one per session in the same order (`after=` / `logAfter=` repeated; empty: none).
      const afters = c.req.queries('after') ?? [];
      const logAfters = c.req.queries('logAfter') ?? [];
      const wanted = new Map<string, Cursor>();
      const viewers: Credential[] = [];
      for (const [i, id] of ids.entries()) {
        const credential: Credential =
          tokens[i] === undefined ? r.who(c) : authenticator.credentialOf(tokens[i], 'query');
        if (credential.kind === 'token' && credential.sessionId !== id) {
          throw new LiveopError('forbidden', `token: token ${i + 1} is for another session`);
        }
        try {
          await sessions.read(id, credential);
        } catch (error) {
          // An unknown session is not refused: its part of the stream says `gone`.
          if (!(error instanceof LiveopError && error.kind === 'not_found')) throw error;
        }
        if (!wanted.has(id)) {
          wanted.set(id, cursorOf(afters[i], logAfters[i], `.${i}`));
          viewers.push(credential);
        }
      }
      return open(c, wanted, viewers);
    });
}
