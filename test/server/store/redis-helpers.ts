/**
 * What the Redis tests share: fresh prefixes (cleaned up after), a plain
 * client to look at Redis directly, and throwaway redis-server processes
 * for the tests that stop Redis (the shared one on 6379 is never stopped).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { createClient, type RedisClientType } from '@keyv/redis';
import { RedisSessionStore, type RedisStoreOptions } from '../../../server/store/redis-store';
import { REDIS_URL } from '../../support/requirements';

export { REDIS_URL };

export function freshPrefix(): string {
  return `test-${randomUUID().slice(0, 12)}`;
}

/** A plain client on `url`, for looking at keys and counting commands. */
export async function inspector(url = REDIS_URL): Promise<RedisClientType> {
  const client = createClient({
    url,
    socket: { reconnectStrategy: false, connectTimeout: 2_000 },
  }) as unknown as RedisClientType;
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Every key under a prefix (SCAN, never KEYS). */
export async function keysOf(client: RedisClientType, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (const match of [`${prefix}:*`, `{${prefix}}:*`]) {
    let cursor = '0';
    do {
      const page = await client.scan(cursor, { MATCH: match, COUNT: 500 });
      cursor = String(page.cursor);
      found.push(...page.keys);
    } while (cursor !== '0');
  }
  return found;
}

/**
 * Stores on fresh prefixes that are closed and whose keys are removed by
 * `cleanup()` (call it in afterEach/afterAll).
 */
export function storeFactory(url = REDIS_URL) {
  const prefixes = new Set<string>();
  const stores = new Set<RedisSessionStore>();
  return {
    async make(options: Partial<RedisStoreOptions> = {}): Promise<RedisSessionStore> {
      const prefix = options.prefix ?? freshPrefix();
      prefixes.add(prefix);
      const store = await RedisSessionStore.connect({ url, log: () => {}, ...options, prefix });
      stores.add(store);
      return store;
    },
    async cleanup(): Promise<void> {
      await Promise.all([...stores].map((s) => s.close()));
      stores.clear();
      const client = await inspector(url);
      try {
        for (const prefix of prefixes) {
          const keys = await keysOf(client, prefix);
          if (keys.length > 0) await client.unlink(keys);
        }
      } finally {
        prefixes.clear();
        await client.close();
      }
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A redis-server of our own, keeping nothing on disk, that a test may kill and start again. */
export class ThrowawayRedis {
  #process: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<ThrowawayRedis> {
    const redis = new ThrowawayRedis(await freePort());
    await redis.start();
    return redis;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      { stdio: 'ignore' },
    );
    this.#process = child;
    const deadline = Date.now() + 5_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server on ${this.port} exited with ${child.exitCode}`);
      try {
        const client = createClient({ url: this.url, socket: { reconnectStrategy: false } });
        client.on('error', () => {});
        await client.connect();
        await client.ping();
        await client.close();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not start`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
  }

  /** SIGKILL: no goodbye to clients, nothing saved. */
  async kill(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP / SIGCONT: the connection stays open but nothing answers. */
  pause(): void {
    this.#process?.kill('SIGSTOP');
  }

  resume(): void {
    this.#process?.kill('SIGCONT');
  }
}
