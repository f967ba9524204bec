/**
 * The floor: what writing the same bytes to the same streams costs this
 * machine with nothing else in the way. Bare `node:http`; a post to a
 * session answers its version and writes one line — a copy of the line
 * Liveop sent in the same run, with this session's id and version — to each
 * of the session's open chunked responses, right there in the request
 * handler. No snapshot, no JSON, no throttle, no backpressure: the least a
 * server can do per delivered line.
 *
 * With `writeLines: false` it answers the posts and writes nothing else,
 * the same viewers connected and idle: the least time this machine takes to
 * answer a burst of posts at all, a bound no server that also writes the
 * fan-out can beat (the burst scenario's `floor-answer`). Answering first
 * and writing the lines after (a `setImmediate`) was tried as that floor
 * and is not one: on 2 cores its one long fan-out kept the reporters'
 * process from reading the answers it had sent (answer p99 155–161 ms at the
 * reporters, 42–82 ms in the server), later than Liveop's 3 ms slices.
 *
 * It answers the routes the load uses: `POST /sessions`,
 * `POST /sessions/:id/events`, `GET /sessions/:id/stream`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tokenlessCreated } from './created.ts';

/** A line of the usual size when no Liveop line was captured (`{{id}}`, `{{version}}` filled in). */
export const DEFAULT_LINE_TEMPLATE = `{"type":"snapshot","id":"{{id}}","version":{{version}},"pad":"${'x'.repeat(540)}"}`;

interface FloorSession {
  version: number;
  streams: Set<ServerResponse>;
}

const ROUTE = /^\/sessions\/([^/]+)\/(events|stream)$/;

export interface FloorOptions {
  /** The line to write (`{{id}}` and `{{version}}` filled in per session and post). */
  template?: string;
  /** Write each post's line to its session's streams. @default true */
  writeLines?: boolean;
}

export function createFloorServer({ template = DEFAULT_LINE_TEMPLATE, writeLines = true }: FloorOptions = {}): Server {
  const sessions = new Map<string, FloorSession>();
  const line = (id: string, version: number) =>
    Buffer.from(`${template.replace('{{id}}', id).replace('{{version}}', String(version))}\n`);
  const fanOut = (id: string, session: FloorSession) => {
    const bytes = line(id, session.version);
    for (const stream of session.streams) stream.write(bytes);
  };
  return createServer((req, res) => {
    const url = req.url ?? '/';
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && url === '/sessions') {
        const id = randomUUID();
        sessions.set(id, { version: 1, streams: new Set() });
        const base = `http://${req.headers.host}/sessions/${id}`;
        const text = JSON.stringify(tokenlessCreated(id, base));
        res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      const route = ROUTE.exec(url);
      const session = route ? sessions.get(route[1]!) : undefined;
      if (!route || session === undefined) {
        res.writeHead(404).end();
        return;
      }
      const id = route[1]!;
      if (route[2] === 'stream') {
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-cache' });
        res.write(line(id, session.version));
        session.streams.add(res);
        res.on('close', () => session.streams.delete(res));
        return;
      }
      session.version += 1;
      const text = `{"version":${session.version},"cancelRequested":false}`;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': text.length });
      res.end(text);
      if (writeLines) fanOut(id, session);
    });
  });
}
