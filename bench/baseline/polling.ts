/**
 * The seeds' design written the way a Node engineer would write it today:
 * bare `node:http`, the sessions in a plain `Map`, and every open stream a
 * 100 ms interval that reads its session, builds the snapshot with the same
 * pure core and writes it — one `JSON.stringify` per poll per stream,
 * changed or not. A stream whose last write has not drained skips a poll
 * (what `await write()` does in the seeds), so a slow reader holds no queue.
 * No tokens, no validation beyond `JSON.parse` and the create schema: it
 * gets every shortcut.
 *
 * It answers the routes the load uses: `POST /sessions`,
 * `POST /sessions/:id/events`, `GET /sessions/:id/stream`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ProgressEvent } from '../../protocol/index.ts';
import { createSession, type StoredSession } from '../../server/core/model.ts';
import { applyEvents } from '../../server/core/reducer.ts';
import { createSessionSchema } from '../../server/core/schemas.ts';
import { toSnapshot } from '../../server/core/snapshot.ts';
import { isFinal } from '../../server/core/status.ts';
import { tokenlessCreated } from './created.ts';

/** django-spire's `poll_interval`. */
const POLL_MS = 100;

export interface PollingServer {
  server: Server;
  /** Session reads so far (one per poll per stream, one per post). */
  reads(): number;
}

const ROUTE = /^\/sessions\/([^/]+)\/(events|stream)$/;

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function createPollingServer(): PollingServer {
  const sessions = new Map<string, StoredSession>();
  let reads = 0;
  const get = (id: string) => {
    reads += 1;
    return sessions.get(id);
  };

  const stream = (id: string, res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-cache' });
    const poll = () => {
      if (res.writableNeedDrain) return;
      const session = get(id);
      if (session === undefined) return stop();
      const now = Date.now();
      res.write(`${JSON.stringify(toSnapshot(session, now))}\n`);
      if (isFinal(session, now)) stop();
    };
    const timer = setInterval(poll, POLL_MS);
    const stop = () => {
      clearInterval(timer);
      res.end();
    };
    res.on('close', () => clearInterval(timer));
    poll();
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      if (req.method === 'POST' && url === '/sessions') {
        const input = createSessionSchema.parse(JSON.parse(await body(req)));
        const session = createSession(randomUUID(), input, Date.now());
        sessions.set(session.id, session);
        const base = `http://${req.headers.host}/sessions/${session.id}`;
        json(res, 201, tokenlessCreated(session.id, base));
        return;
      }
      const route = ROUTE.exec(url);
      const session = route ? get(route[1]!) : undefined;
      if (!route || session === undefined) return json(res, 404, { error: { code: 'not_found', message: url } });
      if (req.method === 'GET' && route[2] === 'stream') return stream(session.id, res);
      if (req.method !== 'POST' || route[2] !== 'events') return json(res, 405, {});
      const parsed: unknown = JSON.parse(await body(req));
      const events = (Array.isArray(parsed) ? parsed : [parsed]) as ProgressEvent[];
      const next = applyEvents(sessions.get(session.id)!, events, Date.now());
      sessions.set(session.id, next);
      json(res, 200, { version: next.version, cancelRequested: next.cancelRequested });
    })().catch((error: unknown) => {
      if (!res.headersSent) json(res, 400, { error: { code: 'invalid_body', message: String(error) } });
    });
  });
  return { server, reads: () => reads };
}
