/**
 * What `npm start` runs — the built `dist/server.js` — in a child process on a
 * loopback port, for tests that must see the process itself: its start-up
 * lines, its exit code, whether it is still alive.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { assertBuilt } from './built.ts';

export interface SpawnedServer {
  url: string;
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with its exit code. */
  exited: Promise<number | null>;
  /** True while the process runs. */
  alive(): boolean;
  /** Signals its whole process group. @default 'SIGKILL' */
  kill(signal?: NodeJS.Signals): void;
}

export const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

/** Starts it with `env` over the test's own (the demo off unless `env` says otherwise) and waits for it to listen. */
export async function spawnServer(env: Record<string, string>, port?: number): Promise<SpawnedServer> {
  return spawnBuilt(
    'dist/server.js',
    { PORT: String(port ?? (await freePort())), LIVEOP_DEMO: '0', ...env },
    'listening',
  );
}

/** What `npm run worker` runs — the built `dist/worker.js` — waiting until it runs. */
export function spawnWorker(env: Record<string, string>): Promise<SpawnedServer> {
  return spawnBuilt('dist/worker.js', env, 'worker running');
}

async function spawnBuilt(file: string, env: Record<string, string>, ready: string): Promise<SpawnedServer> {
  const port = Number(env.PORT ?? 0);
  assertBuilt(file, ['server', 'demo']);
  // Its own process group, so `kill` stops whatever it started too.
  const child = spawn(process.execPath, ['--enable-source-maps', file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 15_000;
  while (!output.includes(ready) && Date.now() < deadline) {
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    kill: (signal = 'SIGKILL') => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // The group has gone already.
      }
    },
  };
}
