/**
 * The framework's own floor: a Hono app on @hono/node-server — the stack
 * Liveop is built on — answering the burst scenario's posts the least way
 * such an app would (the body parsed with `c.req.json()`, a version bumped,
 * `c.json()` answered) and writing no line. Beside the bare node:http
 * floor, it tells how much of a burst's answer time is the framework and
 * how much is Liveop's own work (auth, limits, validation, the store).
 *
 * Routes: `POST /sessions`, `POST /sessions/:id/events`, and
 * `GET /sessions/:id/stream`, which sends one line and stays open.
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { tokenlessCreated } from './created.ts';

export function createHonoFloor(): Hono {
  const versions = new Map<string, number>();
  const app = new Hono();
  app.post('/sessions', (c) => {
    const id = randomUUID();
    versions.set(id, 1);
    const base = `${new URL(c.req.url).origin}/sessions/${id}`;
    return c.json(tokenlessCreated(id, base), 201);
  });
  app.post('/sessions/:id/events', async (c) => {
    const id = c.req.param('id');
    const version = versions.get(id);
    if (version === undefined) return c.json({ error: 'not_found' }, 404);
    // An array of events, or one (a one-line NDJSON body).
    const events: unknown = await c.req.json();
    if (events === null || typeof events !== 'object') return c.json({ error: 'bad_request' }, 400);
    versions.set(id, version + 1);
    return c.json({ version: version + 1, cancelRequested: false });
  });
  app.get('/sessions/:id/stream', (c) => {
    const id = c.req.param('id');
    const version = versions.get(id);
    if (version === undefined) return c.json({ error: 'not_found' }, 404);
    const line = new TextEncoder().encode(`{"type":"snapshot","id":"${id}","version":${version}}\n`);
    const body = new ReadableStream<Uint8Array>({ start: (controller) => controller.enqueue(line) });
    return new Response(body, { headers: { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-cache' } });
  });
  return app;
}
