/**
 * The two ways a stream is written (server/http/stream-response.ts): straight
 * to the Node response when @hono/node-server serves the answer the route
 * made, through a web ReadableStream otherwise (middleware replaced the
 * answer, `app.request()`, other runtimes). Everything a client can observe
 * is checked on both: the lines and their framing, the reconnect line on
 * shutdown, heartbeats, token renewals, error and gone lines, CORS headers,
 * backpressure, and the stream caps released on close.
 */
import { connect } from 'node:net';
import { Hono, type MiddlewareHandler } from 'hono';
import { compress } from 'hono/compress';
import { cors } from 'hono/cors';
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot, TokenLine } from '../../../protocol/index.ts';
import { withContractErrors } from '../../../server/http/app.ts';
import { createLiveop, type Listening, type Liveop, type LiveopOptions } from '../../../server/liveop.ts';
import { MemorySessionStore } from '../../../server/store/memory-store.ts';
import { bearer, openStream, post } from '../../support/ndjson-client.ts';

type Transport = 'node' | 'web';

interface Served {
  url: string;
  liveop: Liveop;
  store: MemorySessionStore;
  listening: Listening;
  close(): Promise<void>;
}

/** Replaces the answer after the route made it, as some middleware does: the web stream carries the lines. */
const replacesTheAnswer: MiddlewareHandler = async (c, next) => {
  await next();
  c.res = new Response(c.res.body, c.res);
};

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

async function serve(options: LiveopOptions = {}, front: MiddlewareHandler[] = []): Promise<Served> {
  const store = new MemorySessionStore();
  const liveop = createLiveop({ ...options, store });
  const app = withContractErrors(new Hono());
  for (const middleware of front) app.use('*', middleware);
  app.route('/', liveop.routes());
  const listening = await liveop.listen(0, '127.0.0.1', app);
  let closed = false;
  served = {
    url: listening.url,
    liveop,
    store,
    listening,
    close: async () => {
      if (closed) return;
      closed = true;
      await listening.close();
      await liveop.close();
    },
  };
  return served;
}

const serveOver = (transport: Transport, options: LiveopOptions = {}) =>
  serve(options, transport === 'web' ? [replacesTheAnswer] : []);

async function create(s: Served, body: object = { tasks: { a: 'A' } }): Promise<CreatedSession> {
  const { status, body: created } = await post(`${s.url}/sessions`, body);
  expect(status).toBe(201);
  return created as CreatedSession;
}
const events = (session: CreatedSession, list: object[]) =>
  post(`${session.snapshotUrl}/events`, list, bearer(session.reporterToken));

/** Runs `open` and says which transport served the stream it opened (as `liveop.stats()` counts them). */
async function transportOf(liveop: Liveop, open: () => Promise<unknown>): Promise<Transport | 'none'> {
  const before = liveop.stats();
  await open();
  const after = liveop.stats();
  if (after.nodeStreams > before.nodeStreams) return 'node';
  if (after.webStreams > before.webStreams) return 'web';
  return 'none';
}

describe.each(['node', 'web'] as const)('a stream over the %s transport', (transport) => {
  it('sends the state at once, a line per change, and ends after the terminal snapshot', async () => {
    const s = await serveOver(transport);
    const session = await create(s);
    let stream!: Awaited<ReturnType<typeof openStream>>;
    const used = await transportOf(s.liveop, async () => {
      stream = await openStream(session.streamUrl);
      await stream.waitFor((l) => l.type === 'snapshot' && l.version === 1);
    });
    expect(used).toBe(transport);
    expect(stream.response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    await events(session, [{ type: 'log', line: 'one' }]);
    await stream.waitFor((l) => l.type === 'snapshot' && l.version === 2);
    await events(session, [{ type: 'complete', task: 'a' }]);
    await stream.ended;
    expect(stream.raw()).toMatch(/^\{"type":"snapshot".*\}\n$/s);
    expect(stream.snapshots().at(-1)).toMatchObject({ status: 'complete', version: 3 });
    expect(stream.snapshots().flatMap((l) => l.logs.map((g) => g.line))).toEqual(['one']);
  });

  it('frames SSE events with the version as id, and says reconnect (as an event) when the server shuts down', async () => {
    const s = await serveOver(transport);
    const session = await create(s);
    const sse = await openStream(session.streamUrl, { headers: { Accept: 'text/event-stream' } });
    await sse.waitFor((l) => l.type === 'snapshot');
    expect(sse.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const ndjson = await openStream(session.streamUrl);
    await ndjson.waitFor((l) => l.type === 'snapshot');
    await s.close();
    await Promise.all([sse.ended, ndjson.ended]);
    expect(sse.raw()).toMatch(/^id: 1\ndata: \{"type":"snapshot"[^\n]*\}\n\ndata: \{"type":"reconnect"\}\n\n$/);
    expect(ndjson.raw()).toMatch(/\n\{"type":"reconnect"\}\n$/);
  });

  it('says reconnect when Liveop closes while the server still listens', async () => {
    const s = await serveOver(transport);
    const session = await create(s);
    const stream = await openStream(session.streamUrl);
    await stream.waitFor((l) => l.type === 'snapshot');
    await s.liveop.close();
    await stream.ended;
    expect(stream.lines.at(-1)).toEqual({ type: 'reconnect' });
  });

  it('sends heartbeats, a fresh token before the viewer’s expires, and CORS headers', async () => {
    const s = await serveOver(transport, {
      heartbeatMs: 300,
      viewerTokenTtlSeconds: 4,
      corsOrigins: ['https://shop.example'],
    });
    const session = await create(s);
    const stream = await openStream(session.streamUrl, {
      headers: { ...bearer(session.viewerToken), Origin: 'https://shop.example' },
    });
    expect(stream.response.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    await stream.waitFor((l) => l.type === 'heartbeat', 3_000);
    const token = (await stream.waitFor((l) => l.type === 'token', 5_000)) as TokenLine;
    expect(token).toMatchObject({ type: 'token', id: session.id, token: expect.any(String) });
    stream.close();
  }, 10_000);

  it('ends with an error line for a session it cannot serve, and with gone for a deleted one', async () => {
    const s = await serveOver(transport);
    const broken = await create(s);
    let data: unknown = 0;
    for (let i = 0; i < 20_000; i++) data = [data];
    await s.store.update(broken.id, (stored) => ({ ...stored, version: stored.version + 1, result: data }));
    const errored = await openStream(broken.streamUrl);
    await errored.ended;
    expect(errored.lines).toEqual([
      { type: 'error', id: broken.id, error: { code: 'internal_error', message: expect.any(String) } },
    ]);
    const session = await create(s);
    const stream = await openStream(session.streamUrl);
    await stream.waitFor((l) => l.type === 'snapshot');
    await fetch(session.snapshotUrl, { method: 'DELETE', headers: bearer(session.reporterToken) });
    await stream.ended;
    expect(stream.lines.at(-1)).toEqual({ type: 'gone', id: session.id });
  });

  it('multiplexes sessions on one connection', async () => {
    const s = await serveOver(transport);
    const a = await create(s);
    const b = await create(s);
    const stream = await openStream(`${s.url}/stream?session=${a.id}&session=${b.id}`);
    await events(a, [{ type: 'complete', task: 'a' }]);
    await events(b, [{ type: 'error', message: 'nope' }]);
    await stream.ended;
    const last = (id: string) =>
      stream
        .snapshots()
        .filter((l) => l.id === id)
        .at(-1);
    expect(last(a.id)?.status).toBe('complete');
    expect(last(b.id)?.status).toBe('error');
  });

  it('releases its slot under the stream caps the moment the client goes away', async () => {
    const s = await serveOver(transport, { caps: { streamsPerAddress: 2 } });
    const session = await create(s);
    const one = await openStream(session.streamUrl);
    const two = await openStream(session.streamUrl);
    await Promise.all([one, two].map((r) => r.waitFor((l) => l.type === 'snapshot')));
    expect((await fetch(session.streamUrl)).status).toBe(503);
    one.close();
    await expect.poll(() => s.liveop.stats().connections, { timeout: 3_000 }).toBe(1);
    const three = await openStream(session.streamUrl);
    expect(three.response.status).toBe(200);
    await three.waitFor((l) => l.type === 'snapshot');
    two.close();
    three.close();
    await expect.poll(() => s.liveop.stats(), { timeout: 3_000 }).toMatchObject({ connections: 0, watchers: 0 });
  });

  it('gives a slow reader every log line exactly once, the newest state folded into one line', async () => {
    const s = await serveOver(transport, { throttleHz: 1_000 });
    const session = await create(s);
    const response = await fetch(session.streamUrl);
    const reader = response.body!.getReader();
    // A 60 KB result rides on every line, and 1.8 MB of logs come while the reader reads
    // nothing: ~10 MB in all, more than loopback's socket buffers take (they grow to
    // megabytes; 1.8 MB alone sometimes fitted, and nothing was left to fold).
    await events(session, [{ type: 'result', data: 'r'.repeat(60_000) }]);
    const chunk = 'x'.repeat(1_990);
    for (let i = 0; i < 150; i++) {
      await events(session, [{ type: 'log', lines: Array.from({ length: 6 }, (_, k) => `${i * 6 + k} ${chunk}`) }]);
    }
    await events(session, [{ type: 'complete', task: 'a' }]);
    let text = '';
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const received = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Snapshot);
    const seqs = received.flatMap((l) => l.logs.map((g) => Number(g.line.split(' ')[0])));
    expect(seqs).toEqual(Array.from({ length: 900 }, (_, i) => i));
    expect(Math.max(...received.map((l) => l.logs.length))).toBeGreaterThan(6);
    expect(received.at(-1)!.status).toBe('complete');
  }, 60_000);
});

describe('the Node transport’s framing', () => {
  it('sends well-formed chunks and ends the response so the connection serves the next request', async () => {
    const s = await serveOver('node');
    const session = await create(s);
    await events(session, [{ type: 'log', line: 'one' }]);
    const { host, port } = new URL(s.url);
    const socket = connect(Number(port), host.replace(/:\d+$/, ''));
    let raw = '';
    socket.setEncoding('latin1');
    socket.on('data', (data: string) => {
      raw += data;
    });
    const path = new URL(session.streamUrl).pathname;
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    await expect.poll(() => raw.includes('"version":2'), { timeout: 3_000 }).toBe(true);
    await events(session, [{ type: 'complete', task: 'a' }]);
    await expect.poll(() => raw.endsWith('\r\n0\r\n\r\n'), { timeout: 3_000 }).toBe(true);
    const [head, body] = [raw.slice(0, raw.indexOf('\r\n\r\n')), raw.slice(raw.indexOf('\r\n\r\n') + 4)];
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head).toMatch(/\r\nTransfer-Encoding: chunked/i);
    // De-chunk by hand: every chunk's size is its bytes' length, and the lines are whole.
    const lines: string[] = [];
    let rest = body;
    for (;;) {
      const size = Number.parseInt(rest.slice(0, rest.indexOf('\r\n')), 16);
      rest = rest.slice(rest.indexOf('\r\n') + 2);
      if (size === 0) break;
      lines.push(
        ...rest
          .slice(0, size)
          .split('\n')
          .filter((l) => l !== ''),
      );
      expect(rest.slice(size, size + 2)).toBe('\r\n');
      rest = rest.slice(size + 2);
    }
    expect(rest).toBe('\r\n');
    const snapshots = lines.map((l) => JSON.parse(l) as Snapshot);
    expect(snapshots[0]!.version).toBe(2);
    expect(snapshots.at(-1)).toMatchObject({ version: 3, status: 'complete', percent: 100 });
    raw = '';
    socket.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    await expect.poll(() => raw, { timeout: 3_000 }).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    socket.destroy();
  });
});

describe('which transport a stream takes', () => {
  it('stays on the Node path behind middleware that only adds headers, hono/compress included (it skips streams)', async () => {
    const s = await serve({}, [
      compress(),
      async (c, next) => {
        await next();
        c.res.headers.set('X-Served-By', 'test');
      },
    ]);
    const session = await create(s);
    let stream!: Awaited<ReturnType<typeof openStream>>;
    const used = await transportOf(s.liveop, async () => {
      stream = await openStream(session.streamUrl, { headers: { 'Accept-Encoding': 'gzip' } });
      await stream.waitFor((l) => l.type === 'snapshot');
    });
    expect(used).toBe('node');
    expect(stream.response.headers.get('content-encoding')).toBeNull();
    expect(stream.response.headers.get('x-served-by')).toBe('test');
    stream.close();
  });

  it('takes the web stream behind c.header() after next(), which copies the answer, and sends that header', async () => {
    const s = await serve({}, [
      async (c, next) => {
        await next();
        c.header('X-Served-By', 'test');
      },
    ]);
    const session = await create(s);
    let stream!: Awaited<ReturnType<typeof openStream>>;
    const used = await transportOf(s.liveop, async () => {
      stream = await openStream(session.streamUrl);
      await stream.waitFor((l) => l.type === 'snapshot');
    });
    expect(used).toBe('web');
    expect(stream.response.headers.get('x-served-by')).toBe('test');
    stream.close();
  });

  it('takes the web stream behind hono/cors, which copies the answer into a new Response', async () => {
    const s = await serve({}, [cors({ origin: 'https://shop.example' })]);
    const session = await create(s);
    let stream!: Awaited<ReturnType<typeof openStream>>;
    const used = await transportOf(s.liveop, async () => {
      stream = await openStream(session.streamUrl, { headers: { Origin: 'https://shop.example' } });
      await stream.waitFor((l) => l.type === 'snapshot');
    });
    expect(used).toBe('web');
    expect(stream.response.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    await events(session, [{ type: 'complete', task: 'a' }]);
    await stream.ended;
    expect(stream.snapshots().at(-1)?.status).toBe('complete');
  });

  it('takes the web stream with app.request() (no Node response), and says reconnect when Liveop closes', async () => {
    const liveop = createLiveop({ store: new MemorySessionStore() });
    const app = liveop.routes();
    const created = (await (
      await app.request('/sessions', { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } })
    ).json()) as CreatedSession;
    let text = '';
    const used = await transportOf(liveop, async () => {
      const response = await app.request(`/sessions/${created.id}/stream`);
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      const { value } = await reader.read();
      text += decoder.decode(value);
      const waiting = reader.read(); // the reader waits for more, as a client does
      await liveop.close();
      const last = await waiting;
      text += decoder.decode(last.value);
      for (;;) {
        const next = await reader.read();
        if (next.done) break;
        text += decoder.decode(next.value);
      }
    });
    expect(used).toBe('web');
    expect(text).toMatch(/^\{"type":"snapshot"[^\n]*\}\n\{"type":"reconnect"\}\n$/);
  });
});

describe('two Liveops in one process', () => {
  it('count their own streams and their own stuck readers in stats()', async () => {
    const a = await serve({ caps: { stuckStreamMs: 200 } });
    const b = createLiveop({ store: new MemorySessionStore() });
    const listeningB = await b.listen(0, '127.0.0.1');
    try {
      const onA = await create(a);
      const onB = (await post(`${listeningB.url}/sessions`, {})).body as CreatedSession;
      const streams = await Promise.all([
        openStream(onA.streamUrl),
        openStream(onA.streamUrl),
        openStream(onB.streamUrl),
      ]);
      await Promise.all(streams.map((s) => s.waitFor((l) => l.type === 'snapshot')));
      expect(a.liveop.stats()).toMatchObject({ nodeStreams: 2, webStreams: 0, stuckStreamsClosed: 0 });
      expect(b.stats()).toMatchObject({ nodeStreams: 1, webStreams: 0, stuckStreamsClosed: 0 });

      // A reader on A that takes the first line and then nothing while a change waits: A closes it.
      const app = a.liveop.routes();
      const reader = (await app.request(`/sessions/${onA.id}/stream`)).body!.getReader();
      await reader.read();
      await events(onA, [{ type: 'log', line: 'waiting' }]);
      await expect.poll(() => a.liveop.stats().stuckStreamsClosed, { timeout: 5_000 }).toBe(1);
      await expect(reader.read()).rejects.toThrow(/took nothing/);
      expect(a.liveop.stats()).toMatchObject({ nodeStreams: 2, webStreams: 1 });
      expect(b.stats()).toMatchObject({ nodeStreams: 1, webStreams: 0, stuckStreamsClosed: 0 });
      for (const s of streams) s.close();
    } finally {
      await listeningB.close();
      await b.close();
    }
  });
});
