/**
 * liveop/client when the network misbehaves: a small node:http proxy in
 * front of the real server loses an answer, answers 503 for a while, or cuts
 * a stream, and the client is checked to recover without applying anything
 * twice or repeating a log line.
 */
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient, LiveopClientError, type Snapshot } from '../../client/index.ts';
import { startServer, type TestServer } from '../support/server.ts';

/** What the proxy does with one request. */
type Plan =
  | 'forward'
  /** Forward it, let the server answer, then drop the connection instead of passing the answer on. */
  | 'lose-answer'
  /** Answer 503 with `Retry-After: 1` without forwarding it. */
  | 'unavailable'
  /** Forward it, pass the answer's first chunk on, then cut the connection. */
  | 'cut-after-first-chunk'
  /** Forward it, pass the answer's first chunk on, then a `reconnect` line, and end the answer. */
  | 'reconnect-after-first-chunk';

interface Seen {
  method: string;
  url: string;
  key: string | undefined;
  at: number;
}

interface Proxy {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

let server: TestServer;
let proxy: Proxy | undefined;
beforeAll(async () => {
  server = await startServer();
});
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});
afterAll(() => server.close());

async function startProxy(target: string, plan: (request: Seen, index: number) => Plan): Promise<Proxy> {
  const seen: Seen[] = [];
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const entry: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      key: req.headers['idempotency-key'] as string | undefined,
      at: Date.now(),
    };
    seen.push(entry);
    const what = plan(entry, seen.length - 1);
    if (what === 'unavailable') {
      req.resume();
      res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' });
      res.end(
        JSON.stringify({ error: { code: 'unavailable', message: 'the session store is unavailable; try again' } }),
      );
      return;
    }
    const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      if (what === 'lose-answer') {
        answer.resume();
        answer.on('end', () => res.socket?.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (what === 'forward') {
        answer.pipe(res);
        return;
      }
      answer.once('data', (chunk: Buffer) => {
        answer.destroy();
        if (what === 'cut-after-first-chunk') res.write(chunk, () => res.socket?.destroy());
        else res.end(Buffer.concat([chunk, Buffer.from('{"type":"reconnect"}\n')]));
      });
    });
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

const isEvents = (r: Seen) => r.method === 'POST' && r.url.endsWith('/events');
const isStream = (r: Seen) => r.url.includes('/stream');

describe('retrying requests', () => {
  it('sends a batch whose answer was lost again with the same Idempotency-Key, and it is applied once', async () => {
    let lost = 0;
    proxy = await startProxy(server.url, (r) => (isEvents(r) && lost++ === 0 ? 'lose-answer' : 'forward'));
    const client = createClient({ baseUrl: proxy.url, retry: { baseDelayMs: 50 } });
    const session = await client.createSession({ tasks: { a: 'A' } });
    session.log('imported row 1');
    session.steps('a', 1, 10);
    await session.flush();
    const posts = proxy.seen.filter(isEvents);
    expect(posts).toHaveLength(2);
    expect(posts[0]!.key).toMatch(/^[0-9a-f-]{32,36}$/);
    expect(posts[1]!.key).toBe(posts[0]!.key);
    const snapshot = await session.snapshot();
    expect(snapshot.logs.map((l) => l.line)).toEqual(['imported row 1']);
    expect(snapshot.version).toBe(2);
    // The next batch has a key of its own.
    session.log('imported row 2');
    await session.close();
    expect(proxy.seen.filter(isEvents)[2]!.key).not.toBe(posts[0]!.key);
    expect((await session.snapshot()).logs.map((l) => l.line)).toEqual(['imported row 1', 'imported row 2']);
  });

  it('retries a batch answered 503, waiting as Retry-After says, under one key', async () => {
    let refused = 0;
    proxy = await startProxy(server.url, (r) => (isEvents(r) && refused++ < 2 ? 'unavailable' : 'forward'));
    const client = createClient({ baseUrl: proxy.url });
    const session = await client.createSession({ tasks: { a: 'A' } });
    session.log('once');
    await session.flush();
    const posts = proxy.seen.filter(isEvents);
    expect(posts).toHaveLength(3);
    expect(new Set(posts.map((p) => p.key)).size).toBe(1);
    // Retry-After: 1 — each retry came at least a second after the try before.
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(990);
    expect(posts[2]!.at - posts[1]!.at).toBeGreaterThanOrEqual(990);
    expect((await session.snapshot()).logs.map((l) => l.line)).toEqual(['once']);
    await session.close();
  });

  it('gives up after retry.attempts, rejecting flush() with a 503 error', async () => {
    proxy = await startProxy(server.url, (r) => (isEvents(r) ? 'unavailable' : 'forward'));
    const errors: LiveopClientError[] = [];
    const client = createClient({ baseUrl: proxy.url, retry: { attempts: 1 }, onError: (e) => errors.push(e) });
    const session = await client.createSession({ tasks: { a: 'A' } });
    session.log('never');
    await expect(session.flush()).rejects.toMatchObject({ status: 503, code: 'unavailable' });
    expect(proxy.seen.filter(isEvents)).toHaveLength(2);
    expect(errors).toHaveLength(1);
    await session.close();
  });

  it('does not send a create again after a lost answer (it is not idempotent)', async () => {
    proxy = await startProxy(server.url, (r) => (r.method === 'POST' ? 'lose-answer' : 'forward'));
    const client = createClient({ baseUrl: proxy.url, retry: { baseDelayMs: 10 } });
    const refusal = await client.createSession({ tasks: { a: 'A' } }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(LiveopClientError);
    expect(refusal).toMatchObject({ status: null, code: 'network_error' });
    expect(proxy.seen).toHaveLength(1);
  });

  it('does send a create again when the connection was refused (nothing reached the server)', async () => {
    const closed = await startProxy(server.url, () => 'forward');
    await closed.close();
    let tries = 0;
    const client = createClient({
      baseUrl: closed.url,
      retry: { attempts: 2, baseDelayMs: 10 },
      fetch: (input, init) => {
        tries++;
        return fetch(input, init);
      },
    });
    await expect(client.createSession({ tasks: { a: 'A' } })).rejects.toMatchObject({ code: 'network_error' });
    expect(tries).toBe(3);
  });
});

describe('watching through a bad connection', () => {
  it('resumes after the stream is cut, missing no change and repeating no log line', async () => {
    let streams = 0;
    proxy = await startProxy(server.url, (r) => (isStream(r) && streams++ === 0 ? 'cut-after-first-chunk' : 'forward'));
    const client = createClient({ baseUrl: proxy.url, retry: { baseDelayMs: 50 } });
    const session = await client.createSession({ tasks: { a: 'A' } });
    session.log('one', 'two');
    session.steps('a', 1, 3);
    await session.flush();
    const seen: Snapshot[] = [];
    let reported = false;
    for await (const snapshot of session.watch()) {
      seen.push(snapshot);
      if (!reported) {
        // Reported while the first connection is being cut.
        reported = true;
        session.log('three');
        session.steps('a', 2, 3);
        await session.flush();
        session.log('four');
        session.result({ rows: 3 });
        session.complete('a');
      }
    }
    await session.close();
    const streamRequests = proxy.seen.filter(isStream);
    expect(streamRequests.length).toBeGreaterThanOrEqual(2);
    expect(new URL(streamRequests[1]!.url, proxy.url).searchParams.get('after')).toBe(String(seen[0]!.version));
    expect(seen.flatMap((s) => s.logs.map((l) => l.line))).toEqual(['one', 'two', 'three', 'four']);
    expect(seen.at(-1)).toMatchObject({ status: 'complete', result: { rows: 3 } });
  });

  it('reconnects at once on a reconnect line, and resumes where it was', async () => {
    let streams = 0;
    proxy = await startProxy(server.url, (r) =>
      isStream(r) && streams++ === 0 ? 'reconnect-after-first-chunk' : 'forward',
    );
    const client = createClient({ baseUrl: proxy.url, retry: { baseDelayMs: 5_000 } });
    const session = await client.createSession({ tasks: { a: 'A' } });
    session.log('before');
    await session.flush();
    const seen: Snapshot[] = [];
    const started = Date.now();
    for await (const snapshot of session.watch()) {
      seen.push(snapshot);
      if (seen.length === 1) {
        session.log('after');
        session.complete('a');
      }
    }
    await session.close();
    expect(proxy.seen.filter(isStream)).toHaveLength(2);
    // No backoff: the base delay of 5 s was not waited.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(seen.flatMap((s) => s.logs.map((l) => l.line))).toEqual(['before', 'after']);
  });

  it('throws a gone error when the watched session is deleted', async () => {
    const client = createClient({ baseUrl: server.url });
    const session = await client.createSession({ tasks: { a: 'A' } });
    const watching = (async () => {
      for await (const _ of session.watch()) {
        await fetch(`${server.url}/sessions/${session.id}`, {
          method: 'DELETE',
          headers: { Authorization: `Bearer ${session.reporterToken}` },
        });
      }
    })();
    await expect(watching).rejects.toMatchObject({ name: 'LiveopClientError', code: 'gone', status: null });
  });

  it('throws the server refusal at once for a bad token, and stops quietly when its signal aborts', async () => {
    const client = createClient({ baseUrl: server.url });
    const session = await client.createSession({ tasks: { a: 'A' } });
    const stranger = client.session(session.id, { viewerToken: 'not-a-token' });
    await expect(stranger.watch().next()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    const controller = new AbortController();
    const seen: Snapshot[] = [];
    for await (const snapshot of session.watch({ signal: controller.signal })) {
      seen.push(snapshot);
      controller.abort();
    }
    expect(seen).toHaveLength(1);
  });
});
