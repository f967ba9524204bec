/**
 * An event post's body is read the same way whatever its framing — a
 * Content-Length, chunked as node:http clients and streaming uploads send
 * it, NDJSON in several chunks — with the same answer, and the body limit
 * holds for each: a chunked body past it is refused with 413 and the
 * connection closed, since its rest stays unread.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot } from '../../../protocol/index.ts';
import { post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ maxBodyBytes: 10_000 });
});
afterAll(() => server.close());

interface Answer {
  status: number;
  connection: string | undefined;
  body: { version?: number; error?: { message: string } };
}

/** POSTs `chunks` as a node:http client writes them: with a Content-Length, or chunked without one. */
function send(session: CreatedSession, chunks: string[], type: string, framing: 'length' | 'chunked') {
  return new Promise<Answer>((resolve, reject) => {
    const body = chunks.join('');
    const headers: Record<string, string | number> = {
      'Content-Type': type,
      Authorization: `Bearer ${session.reporterToken}`,
      ...(framing === 'length' ? { 'Content-Length': Buffer.byteLength(body) } : {}),
    };
    const req = request(`${session.snapshotUrl}/events`, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode!, connection: res.headers.connection, body: JSON.parse(text) }),
      );
    });
    // The server may answer 413 and close before the whole upload is written.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' ? undefined : reject(error)));
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

const create = async () => (await post(`${server.url}/sessions`, { tasks: { load: 'Load' } })).body as CreatedSession;

describe('event post bodies', () => {
  it('applies the same batch sent with a Content-Length, chunked, and as NDJSON in several chunks', async () => {
    const events = [
      { type: 'steps', task: 'load', done: 5, total: 10 },
      { type: 'log', line: 'half way ✓' },
    ];
    const json = JSON.stringify(events);
    const ndjson = events.map((e) => `${JSON.stringify(e)}\n`);
    const answers = [];
    const snapshots: Snapshot[] = [];
    for (const [chunks, type, framing] of [
      [[json], 'application/json', 'length'],
      [[json.slice(0, 20), json.slice(20)], 'application/json', 'chunked'],
      [[ndjson[0]!.slice(0, 7), ndjson[0]!.slice(7) + ndjson[1]!], 'application/x-ndjson', 'chunked'],
    ] as const) {
      const session = await create();
      answers.push(await send(session, [...chunks], type, framing));
      snapshots.push((await (await fetch(`${session.snapshotUrl}?token=${session.viewerToken}`)).json()) as Snapshot);
    }
    expect(answers.map((a) => [a.status, a.body.version])).toEqual([
      [200, 2],
      [200, 2],
      [200, 2],
    ]);
    for (const snapshot of snapshots) {
      expect(snapshot.tasks[0]).toMatchObject({ percent: 50, done: 5, total: 10 });
      expect(snapshot.logs.map((l) => l.line)).toEqual(['half way ✓']);
    }
  });

  it('refuses a chunked body past the limit with 413, closing the connection, and applies none of it', async () => {
    const session = await create();
    const line = `${JSON.stringify({ type: 'log', line: 'x'.repeat(1_000) })}\n`;
    const answer = await send(session, Array(30).fill(line), 'application/x-ndjson', 'chunked');
    expect(answer).toMatchObject({ status: 413, connection: 'close' });
    expect(answer.body.error?.message).toBe('the body is larger than 10000 bytes');
    const read = (await (await fetch(`${session.snapshotUrl}?token=${session.viewerToken}`)).json()) as Snapshot;
    expect(read).toMatchObject({ version: 1, logs: [] });
    // One just under the limit, chunked, is taken.
    expect((await send(session, Array(9).fill(line), 'application/x-ndjson', 'chunked')).status).toBe(200);
  });
});
