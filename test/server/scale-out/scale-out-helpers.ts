/**
 * Several real servers sharing one Redis prefix, and clients for them:
 * reporters that POST, viewers that read NDJSON streams line by line.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, Socket } from 'node:net';
import type { CreatedSession, Snapshot, StreamLine } from '../../../protocol/index.ts';
import type { LiveopOptions } from '../../../server/liveop.ts';
import type { RedisStoreOptions } from '../../../server/store/redis-store.ts';
import { openStream, type StreamReader } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';
import { freePort, storeFactory } from '../store/redis-helpers.ts';

export interface Cluster {
  servers: TestServer[];
  prefix: string;
  close(): Promise<void>;
}

/** `count` servers, each with its own Redis store (own connections) on one prefix, sharing the token secret. */
export async function startCluster(
  count: number,
  options: {
    url?: string;
    prefix?: string;
    heartbeatMs?: number;
    store?: Partial<RedisStoreOptions>;
    rateLimits?: LiveopOptions['rateLimits'];
  } = {},
): Promise<Cluster> {
  const stores = storeFactory(options.url);
  const first = await stores.make({ ...options.store, ...(options.prefix ? { prefix: options.prefix } : {}) });
  const prefix = first.keys.prefix;
  const secret = randomBytes(32).toString('hex');
  const servers: TestServer[] = [];
  for (let i = 0; i < count; i++) {
    const store = i === 0 ? first : await stores.make({ ...options.store, prefix });
    servers.push(
      await startServer({
        store,
        secret,
        // The tests' viewers are hundreds of users on one address.
        rateLimits: options.rateLimits ?? { streams: { points: 10_000, seconds: 1 } },
        ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
      }),
    );
  }
  return {
    servers,
    prefix,
    async close() {
      await Promise.allSettled(servers.map((s) => s.close()));
      await stores.cleanup().catch(() => {});
    },
  };
}

export async function createOn(server: TestServer, body: object): Promise<CreatedSession> {
  const response = await fetch(`${server.url}/sessions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) throw new Error(`create: ${response.status} ${await response.text()}`);
  return (await response.json()) as CreatedSession;
}

export interface Answer {
  status: number;
  body: unknown;
}

/** POSTs an event batch; a hang shows up as status 0 after `timeoutMs`. */
export async function report(
  server: TestServer,
  session: CreatedSession,
  events: object[],
  timeoutMs = 5_000,
): Promise<Answer> {
  try {
    const response = await fetch(`${server.url}/sessions/${session.id}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${session.reporterToken}` },
      body: JSON.stringify(events),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  } catch {
    return { status: 0, body: null };
  }
}

/** One viewer's NDJSON stream, read line by line as it comes (the tests' one stream client). */
export class Viewer {
  private constructor(private readonly stream: StreamReader) {}

  static async open(server: TestServer, session: CreatedSession, query = ''): Promise<Viewer> {
    const stream = await openStream(`${server.url}/sessions/${session.id}/stream${query}`, {
      headers: { Authorization: `Bearer ${session.viewerToken}` },
    });
    if (stream.response.status !== 200) {
      stream.close();
      throw new Error(`stream: ${stream.response.status} ${JSON.stringify(stream.lines)}`);
    }
    return new Viewer(stream);
  }

  get lines(): StreamLine[] {
    return this.stream.lines;
  }

  get snapshots(): Snapshot[] {
    return this.stream.snapshots();
  }

  get last(): StreamLine | undefined {
    return this.stream.lines.at(-1);
  }

  get ended(): boolean {
    return this.stream.isEnded();
  }

  get finished(): Promise<void> {
    return this.stream.ended;
  }

  close(): void {
    this.stream.close();
  }
}

/**
 * A TCP hop between the servers and Redis that a test can cut (every
 * connection dropped, new ones refused) and restore, while Redis itself —
 * and the data — stays up.
 */
export class CuttableLink {
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  private constructor(
    readonly port: number,
    readonly target: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async open(target: number): Promise<CuttableLink> {
    const link = new CuttableLink(await freePort(), target);
    await link.restore();
    return link;
  }

  restore(): Promise<void> {
    const server = createServer((client) => {
      const upstream = new Socket();
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => {
          this.#sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      upstream.connect(this.target, '127.0.0.1');
      client.pipe(upstream);
      upstream.pipe(client);
    });
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}

export { freePort };
