/**
 * Write path (`npm run bench -- write-path`): what one stream line costs the
 * server to hand to the kernel, by way of writing it. V chunked HTTP/1.1
 * responses on loopback (a bare node:http server and raw client sockets in
 * this process); a burst writes one shared ~800-byte line to every response,
 * the ways Liveop's direct transport can:
 *
 * - `res.write`: `res.cork(); res.write(bytes); res.uncork()` per response —
 *   documented APIs only (Node frames the chunk: four socket writes, a writev);
 * - `res.write, corked per burst`: every response corked, written, then every
 *   one uncorked — the same, with the burst's writes batched;
 * - `socket chunk`: server/http/socket-chunks.ts — one pre-framed chunk,
 *   shared by every response, one socket write each;
 * - `res.write, unchunked`: the same as `res.write` on responses to HTTP/1.0
 *   requests, whose body Node sends as it is and ends by closing the
 *   connection — what documented APIs cost without chunk framing (Liveop's
 *   streams are chunked: this is for comparison only).
 *
 * The ways take turns burst by burst (so a busy machine slows each alike), and
 * each figure is the median burst's CPU time (user + system of this process,
 * over the synchronous loop) per write. The clients read between bursts.
 */
import { Buffer } from 'node:buffer';
import { createServer, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { chunked, chunkSocket } from '../../server/http/socket-chunks.ts';
import type { HubLine } from '../../server/stream/hub.ts';
import { type Row, type ScenarioResult, sleep, waitUntil } from '../lib/report.ts';

export interface WritePathOptions {
  viewers: number;
  /** Bursts per way. */
  bursts: number;
}

type Way = 'res.write' | 'res.write, corked per burst' | 'socket chunk' | 'res.write, unchunked';
const WAYS: Way[] = ['res.write', 'res.write, corked per burst', 'socket chunk', 'res.write, unchunked'];

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

function write(way: Way, responses: ServerResponse[], line: HubLine): void {
  if (way === 'res.write, unchunked') {
    // Corked too: else Node defers the socket write to a tick of its own, outside the timed loop.
    for (const out of responses) {
      out.cork();
      out.write(line.shared!.framed.ndjson!);
      out.uncork();
    }
  } else if (way === 'socket chunk') {
    for (const out of responses) {
      const socket = chunkSocket(out);
      if (socket === null) throw new Error('a response was not writable through its socket');
      socket.write(chunked([line], 'ndjson'));
    }
  } else if (way === 'res.write') {
    for (const out of responses) {
      out.cork();
      out.write(line.shared!.framed.ndjson!);
      out.uncork();
    }
  } else {
    for (const out of responses) out.cork();
    for (const out of responses) out.write(line.shared!.framed.ndjson!);
    for (const out of responses) out.uncork();
  }
}

export async function runWritePath(o: WritePathOptions, log: (s: string) => void): Promise<ScenarioResult> {
  const responses: ServerResponse[] = [];
  const unchunked: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const http10 = req.httpVersion === '1.0';
    res.writeHead(200, {
      'Content-Type': 'application/x-ndjson',
      ...(http10 ? {} : { 'Transfer-Encoding': 'chunked' }),
    });
    res.flushHeaders();
    (http10 ? unchunked : responses).push(res);
  });
  server.maxConnections = 2 * o.viewers + 10;
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', 1024, done));
  const { port } = server.address() as AddressInfo;
  const clients: Socket[] = [];
  let received = 0;
  try {
    for (let i = 0; i < 2 * o.viewers; i += 250) {
      for (let j = i; j < Math.min(2 * o.viewers, i + 250); j++) {
        const client = connect(port, '127.0.0.1');
        client.on('data', (data: Buffer) => {
          received += data.length;
        });
        client.on('error', () => {});
        client.write(`GET / HTTP/1.${j % 2}\r\nHost: bench\r\n\r\n`);
        clients.push(client);
      }
      await waitUntil(() => responses.length + unchunked.length >= Math.min(2 * o.viewers, i + 250), 30_000);
    }
    log(`  ${responses.length} chunked responses open; ${o.bursts} bursts per way, the ways taking turns`);
    const json = JSON.stringify({ type: 'snapshot', id: 'x'.repeat(22), pad: 'p'.repeat(700) });
    const cpu = Object.fromEntries(WAYS.map((way) => [way, [] as number[]])) as Record<Way, number[]>;
    const wall = Object.fromEntries(WAYS.map((way) => [way, [] as number[]])) as Record<Way, number[]>;
    for (let burst = 0; burst < o.bursts + 3; burst++) {
      for (const way of burst % 2 === 0 ? WAYS : [...WAYS].reverse()) {
        // A fresh line each burst, as each generation is: its bytes made once, then shared.
        const line = { line: { type: 'snapshot' }, json, shared: { framed: {} } } as unknown as HubLine;
        line.shared!.framed.ndjson = Buffer.from(`${json}\n`);
        const targets = way === 'res.write, unchunked' ? unchunked : responses;
        const bytes = way === 'res.write, unchunked' ? line.shared!.framed.ndjson : chunked([line], 'ndjson');
        const expected = received + targets.length * bytes.length;
        const before = process.cpuUsage();
        const started = performance.now();
        write(way, targets, line);
        const elapsed = performance.now() - started;
        const used = process.cpuUsage(before);
        // The first bursts warm the JIT; the clients read everything before the next way's turn.
        if (burst >= 3) {
          cpu[way].push((used.user + used.system) / targets.length);
          wall[way].push((elapsed * 1000) / targets.length);
        }
        await waitUntil(() => received >= expected, 30_000);
        await sleep(5);
      }
    }
    const rows: Row[] = WAYS.flatMap((way) => [
      { metric: `${way}: CPU µs per write (median burst)`, liveop: median(cpu[way]), better: 'lower' as const },
      { metric: `${way}: wall µs per write (median burst)`, liveop: median(wall[way]), better: 'lower' as const },
    ]);
    return {
      scenario: 'write-path',
      params: { viewers: responses.length, bursts: o.bursts },
      rows,
      notes: [
        'one ~800-byte line to every chunked response per burst; CPU is this process’s user + system over the write loop',
        `socket chunk ÷ res.write, CPU: ${(median(cpu['socket chunk']) / median(cpu['res.write'])).toFixed(2)}×`,
      ],
      data: { cpu, wall },
    };
  } finally {
    for (const client of clients) client.destroy();
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  }
}
