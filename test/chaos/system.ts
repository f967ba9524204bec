/**
 * The system under test, as a user would run it: its own redis-server with
 * append-only persistence (fsync on every write, so a kill -9 of Redis loses
 * nothing it acknowledged), three `npm start` servers (dist/server.js) and
 * two `npm run worker` workers (dist/worker.js) on it, the TCP proxy in front.
 * Everything on loopback; nothing touches another Redis.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertBuilt } from '../support/built.ts';
import { freePort } from '../support/spawned-server.ts';
import { Managed } from './processes.ts';
import { ChaosProxy } from './proxy.ts';

export interface System {
  redis: Managed;
  instances: Managed[];
  workers: Managed[];
  proxy: ChaosProxy;
  all(): Managed[];
  stop(): Promise<void>;
}

export async function startSystem(): Promise<System> {
  assertBuilt('dist/server.js', ['server', 'demo']);
  assertBuilt('dist/worker.js', ['server', 'demo']);
  const dir = mkdtempSync(join(tmpdir(), 'liveop-chaos-'));
  const redisPort = await freePort();
  const redis = new Managed({
    name: 'redis',
    role: 'redis',
    command: 'redis-server',
    args: [
      ...['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
      ...['--appendonly', 'yes', '--appendfsync', 'always'],
    ],
    ready: 'Ready to accept connections',
  });
  const env = {
    HOST: '127.0.0.1',
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    LIVEOP_SECRET: randomBytes(32).toString('hex'),
    LIVEOP_RUNNER: 'bullmq',
    LIVEOP_DEMO: '0',
    LIVEOP_API_KEYS: '',
    // A dead worker's job runs again within 5 s rather than BullMQ's 30.
    LIVEOP_STALLED_MS: '5000',
    LIVEOP_WORKER_CONCURRENCY: '4',
  };
  const node = (file: string) => [process.execPath, ['--enable-source-maps', file]] as const;
  const ports = [await freePort(), await freePort(), await freePort()];
  const instances = ports.map((port, i) => {
    const [command, args] = node('dist/server.js');
    return new Managed({
      name: `instance ${i + 1}`,
      role: 'instance',
      command,
      args: [...args],
      env: { ...env, PORT: String(port) },
      ready: 'listening',
    });
  });
  const workers = [1, 2].map((i) => {
    const [command, args] = node('dist/worker.js');
    return new Managed({ name: `worker ${i}`, role: 'worker', command, args: [...args], env, ready: 'worker running' });
  });
  const proxy = new ChaosProxy(ports);
  const all = () => [redis, ...instances, ...workers];
  const stop = async () => {
    await proxy.close();
    await Promise.all(all().map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await redis.start();
    await Promise.all([...instances, ...workers].map((p) => p.start()));
    await proxy.listen();
  } catch (error) {
    await stop();
    throw error;
  }
  return { redis, instances, workers, proxy, all, stop };
}
