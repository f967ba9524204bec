/**
 * What `npm start` runs — the built `dist/server.js` — in a child process on a
 * loopback port, for tests that must see the process itself: its start-up
 * lines, its exit code, whether it is still alive.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { assertBuilt } from './built.ts';
import { startProcess } from './processes.ts';

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
  const started = startProcess(process.execPath, ['--enable-source-maps', file], { env });
  const deadline = Date.now() + 15_000;
  while (!started.output().includes(ready) && Date.now() < deadline) {
    if (!started.alive()) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `http://127.0.0.1:${port}`, ...started, kill: started.stop };
}
