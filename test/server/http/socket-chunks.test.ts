/**
 * What server/http/socket-chunks.ts relies on in Node, checked against Node
 * itself on a bare node:http server: if a Node release changes any of it,
 * this fails, and the module must go (its caller then writes with
 * `res.write()` alone).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { chunked, chunkSocket } from '../../../server/http/socket-chunks.ts';
import type { HubLine } from '../../../server/stream/hub.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server | undefined;
let client: Socket | undefined;
afterEach(async () => {
  client?.destroy();
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
  client = undefined;
});

/** A bare node:http server and a raw client socket; `raw()` is everything the client has received. */
async function rawExchange(handler: Handler, requests: string) {
  server = createServer(handler);
  await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  client = connect(port, '127.0.0.1');
  let received = '';
  client.setEncoding('latin1');
  client.on('data', (data: string) => {
    received += data;
  });
  client.write(requests);
  return { raw: () => received, send: (more: string) => client!.write(more) };
}

const line = (json: string): HubLine =>
  ({ line: { type: 'heartbeat' }, json, shared: { framed: {} } }) as unknown as HubLine;

const STREAM_HEAD = { 'Content-Type': 'application/x-ndjson', 'Transfer-Encoding': 'chunked' };

describe('the Node behaviour socket-chunks relies on', () => {
  it('a flushed chunked response has its bytes all on its socket; the chunk written there is the one res.write() sends, and end() follows it', async () => {
    const seen: { socket: boolean; chunked: boolean; lengths: number[] } = {
      socket: false,
      chunked: false,
      lengths: [],
    };
    const exchange = await rawExchange((req, res) => {
      if (req.url === '/next') {
        res.end('next');
        return;
      }
      res.writeHead(200, STREAM_HEAD);
      res.flushHeaders();
      seen.chunked = res.chunkedEncoding;
      // The socket is corked: what the socket holds, the response's writableLength counts too.
      res.socket!.cork();
      const socket = chunkSocket(res);
      seen.socket = socket === res.socket;
      socket?.write(chunked([line('{"n":1}')], 'ndjson'));
      seen.lengths = [res.writableLength, res.socket!.writableLength];
      res.socket!.uncork();
      res.write(Buffer.from('{"n":1}\n'));
      res.end();
    }, 'GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect.poll(exchange.raw, { timeout: 3_000 }).toMatch(/0\r\n\r\n$/);
    expect(seen.chunked).toBe(true);
    expect(seen.socket).toBe(true);
    expect(seen.lengths[0]).toBeGreaterThan(0);
    expect(seen.lengths[0]).toBe(seen.lengths[1]);
    const body = exchange.raw().slice(exchange.raw().indexOf('\r\n\r\n') + 4);
    // Ours first, then Node's own framing of the same bytes: the same chunk twice.
    expect(body).toBe('8\r\n{"n":1}\n\r\n8\r\n{"n":1}\n\r\n0\r\n\r\n');
    // The connection is still good for the next request.
    exchange.send('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect.poll(exchange.raw, { timeout: 3_000 }).toMatch(/\r\n\r\nnext$/);
  });

  it('a response that Node holds bytes of away from its socket (pipelined behind another) is left to res.write()', async () => {
    let first: ServerResponse | undefined;
    const seen: { socket: unknown; lengths: number[] } = { socket: undefined, lengths: [] };
    const exchange = await rawExchange((req, res) => {
      if (req.url === '/first') {
        first = res;
        return;
      }
      res.writeHead(200, STREAM_HEAD);
      res.flushHeaders();
      res.write('{"n":2}\n');
      seen.socket = chunkSocket(res);
      seen.lengths = [res.writableLength];
      res.end();
      first!.end('first');
    }, 'GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect.poll(exchange.raw, { timeout: 3_000 }).toMatch(/0\r\n\r\n$/);
    expect(seen.socket).toBeNull();
    expect(seen.lengths[0]).toBeGreaterThan(0);
    expect(exchange.raw()).toMatch(/\r\n\r\nfirst.*\r\n\r\n8\r\n\{"n":2\}\n\r\n0\r\n\r\n$/s);
  });
});

describe('chunked()', () => {
  it('frames several lines as one chunk, and SSE as events', () => {
    const lines = [line('{"a":1}'), line('{"b":2}')];
    expect(chunked(lines, 'ndjson').toString()).toBe('10\r\n{"a":1}\n{"b":2}\n\r\n');
    expect(chunked([line('{"a":1}')], 'sse').toString()).toBe('f\r\ndata: {"a":1}\n\n\r\n');
  });
});
