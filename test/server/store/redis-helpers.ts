/**
 * What the Redis tests share: fresh prefixes (cleaned up after), a plain
 * client to look at Redis directly, and throwaway redis-server processes
 * for the tests that stop Redis (the shared one on 6379 is never stopped).
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type RedisClientType } from '@keyv/redis';
import { RedisSessionStore, type RedisStoreOptions } from '../../../server/store/redis-store.ts';
import { startProcess } from '../../support/processes.ts';
import { REDIS_URL } from '../../support/requirements.ts';

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
      // One URL, or a cluster's nodes: each node is scanned for its own keys.
      for (const node of url.split(',')) {
        const client = await inspector(node);
        try {
          for (const prefix of prefixes) {
            for (const key of await keysOf(client, prefix)) await client.unlink(key);
          }
        } finally {
          await client.close();
        }
      }
      prefixes.clear();
    },
  };
}

/** A free port whose cluster bus port (+10000) is free too. */
async function busablePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await isFree(port)) && (await isFree(port + 10_000))) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
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
  private constructor(
    readonly port: number,
    readonly extraArgs: string[],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(extraArgs: string[] = [], port?: number): Promise<ThrowawayRedis> {
    const redis = new ThrowawayRedis(port ?? (await freePort()), extraArgs);
    await redis.start();
    return redis;
  }

  async start(): Promise<void> {
    const { child } = startProcess(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        ...this.extraArgs,
      ],
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

/** A Redis Cluster of three throwaway masters (no replicas), made with redis-cli --cluster create. */
export class ThrowawayCluster {
  private constructor(
    readonly nodes: ThrowawayRedis[],
    readonly dir: string,
  ) {}

  /** Root-node URLs, comma-separated, as REDIS_URL takes them. */
  get url(): string {
    return this.nodes.map((n) => n.url).join(',');
  }

  static async start(size = 3): Promise<ThrowawayCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'liveop-cluster-'));
    const nodes: ThrowawayRedis[] = [];
    for (let i = 0; i < size; i++) {
      nodes.push(
        await ThrowawayRedis.start(
          [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${i}.conf`),
            '--cluster-node-timeout',
            '2000',
            '--dir',
            dir,
          ],
          await busablePort(),
        ),
      );
    }
    const cluster = new ThrowawayCluster(nodes, dir);
    const made = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8' },
    );
    if (made.status !== 0) {
      await cluster.stop();
      throw new Error(`redis-cli --cluster create failed: ${made.stdout}${made.stderr}`);
    }
    const deadline = Date.now() + 10_000;
    for (;;) {
      const states = nodes.map(
        (n) => spawnSync('redis-cli', ['-p', String(n.port), 'cluster', 'info'], { encoding: 'utf8' }).stdout,
      );
      if (states.every((s) => s.includes('cluster_state:ok'))) return cluster;
      if (Date.now() > deadline) {
        await cluster.stop();
        throw new Error('the cluster did not become ok');
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
