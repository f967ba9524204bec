/**
 * The one address clients use: a TCP proxy on loopback in front of the
 * instances. Each connection goes to the next instance that accepts it (so
 * a dead instance is skipped, as a load balancer's health check would), and
 * the run can reset connections mid-response.
 */
import { createServer, type Server, Socket } from 'node:net';
import type { Random } from './random.ts';

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Bytes the instance has sent on it so far. */
  received: number;
}

export class ChaosProxy {
  readonly #backends: number[];
  readonly #pairs = new Set<Pair>();
  /** Every client connection still open, paired or not yet: closed with the proxy. */
  readonly #clients = new Set<Socket>();
  #next = 0;
  #server: Server | null = null;
  port = 0;
  connections = 0;

  constructor(backends: number[]) {
    this.#backends = backends;
  }

  async listen(): Promise<void> {
    const server = createServer((client) => this.#accept(client));
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
  }

  #accept(client: Socket): void {
    this.connections++;
    this.#clients.add(client);
    client.once('close', () => this.#clients.delete(client));
    client.pause();
    client.on('error', () => {});
    const start = this.#next++;
    const attempt = (tried: number) => {
      if (tried === this.#backends.length || client.destroyed) {
        client.destroy();
        return;
      }
      const port = this.#backends[(start + tried) % this.#backends.length]!;
      const upstream = new Socket();
      let connected = false;
      upstream.once('error', () => {
        if (!connected) attempt(tried + 1);
      });
      upstream.connect(port, '127.0.0.1', () => {
        connected = true;
        const pair: Pair = { client, upstream, received: 0 };
        this.#pairs.add(pair);
        upstream.on('data', (chunk: Buffer) => (pair.received += chunk.length));
        upstream.on('error', () => client.resetAndDestroy());
        client.on('error', () => upstream.resetAndDestroy());
        upstream.on('close', () => {
          this.#pairs.delete(pair);
          client.end();
        });
        client.on('close', () => {
          this.#pairs.delete(pair);
          upstream.destroy();
        });
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  }

  /** Resets up to `count` open connections (TCP RST both ways), preferring ones with an answer under way; answers how many. */
  reset(random: Random, count: number): number {
    const pairs = [...this.#pairs];
    const answering = pairs.filter((p) => p.received > 0);
    const pool = answering.length > 0 ? answering : pairs;
    let done = 0;
    while (done < count && pool.length > 0) {
      const [pair] = pool.splice(random.int(0, pool.length - 1), 1);
      pair!.client.resetAndDestroy();
      pair!.upstream.resetAndDestroy();
      this.#pairs.delete(pair!);
      done++;
    }
    return done;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
    for (const pair of this.#pairs) pair.upstream.destroy();
    for (const client of this.#clients) client.destroy();
    await closed;
  }
}
