/**
 * The baseline: the seeds' design, as small as it gets, on the same stack
 * (Hono on @hono/node-server) and the same pure core, so a comparison
 * measures the design and nothing else.
 *
 * django-spire's `ProgressSession.stream()`: every open stream sleeps 100 ms,
 * reads the session from the cache, and writes the full snapshot as a line,
 * whether or not anything changed; it stops when the session has ended.
 * Reporters write the session back to the cache (`cache.set`) on every event.
 * The cache is Keyv over a plain Map. No tokens, no validation beyond
 * `JSON.parse`: the baseline gets every shortcut.
 *
 * It answers the same routes the load uses: `POST /sessions`,
 * `POST /sessions/:id/events`, `GET /sessions/:id`, `GET /sessions/:id/stream`.
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import Keyv from 'keyv';
import type { ProgressEvent } from '../../protocol/index.ts';
import { createSession, type StoredSession } from '../../server/core/model.ts';
import { applyEvents } from '../../server/core/reducer.ts';
import { createSessionSchema } from '../../server/core/schemas.ts';
import { toSnapshot } from '../../server/core/snapshot.ts';
import { isFinal } from '../../server/core/status.ts';
import { tokenlessCreated } from './created.ts';

export interface Baseline {
  app: Hono;
  /** Cache reads so far (`cache.get`). */
  reads(): number;
}

/** django-spire's `poll_interval`. */
const POLL_MS = 100;

export function createBaseline(): Baseline {
  const cache = new Keyv<StoredSession>({ store: new Map(), serialize: undefined, deserialize: undefined });
  let reads = 0;
  const get = (id: string) => {
    reads += 1;
    return cache.get(id);
  };
  const app = new Hono();

  app.post('/sessions', async (c) => {
    const input = createSessionSchema.parse(await c.req.json());
    const session = createSession(randomUUID(), input, Date.now());
    await cache.set(session.id, session);
    const base = `${new URL(c.req.url).origin}/sessions/${session.id}`;
    return c.json(tokenlessCreated(session.id, base), 201);
  });

  app.post('/sessions/:id/events', async (c) => {
    const id = c.req.param('id');
    const body: unknown = JSON.parse(await c.req.text());
    const events = (Array.isArray(body) ? body : [body]) as ProgressEvent[];
    const session = await get(id);
    if (session === undefined) return c.json({ error: { code: 'not_found', message: id } }, 404);
    const next = applyEvents(session, events, Date.now());
    await cache.set(id, next);
    return c.json({ version: next.version, cancelRequested: next.cancelRequested });
  });

  app.get('/sessions/:id', async (c) => {
    const session = await get(c.req.param('id'));
    if (session === undefined) return c.json({ error: { code: 'not_found', message: 'unknown' } }, 404);
    return c.json(toSnapshot(session, Date.now()));
  });

  app.get('/sessions/:id/stream', (c) => {
    const id = c.req.param('id');
    c.header('Content-Type', 'application/x-ndjson');
    return stream(c, async (out) => {
      let session = await get(id);
      if (session === undefined) return;
      await out.write(`${JSON.stringify(toSnapshot(session, Date.now()))}\n`);
      while (!out.aborted) {
        await out.sleep(POLL_MS);
        session = await get(id);
        if (session === undefined) return;
        const now = Date.now();
        await out.write(`${JSON.stringify(toSnapshot(session, now))}\n`);
        if (isFinal(session, now)) return;
      }
    });
  });

  return { app, reads: () => reads };
}
