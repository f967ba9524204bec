/**
 * Starts the server under test (bench/lib/server-child.ts) in a child
 * process and talks to it over IPC. Every child started here (servers and
 * client pools alike) is killed when the bench exits, also on failure.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleServer } from '../../server/scripts/bundle.ts';

export type ServerKind = 'liveop' | 'baseline' | 'hello' | 'polling' | 'floor' | 'hono-floor';

export interface ServerSpec {
  kind: ServerKind;
  /** Liveop only. @default 'memory' */
  store?: 'memory' | 'redis';
  redisUrl?: string;
  /** Redis key prefix (a fresh one per run). */
  prefix?: string;
  /** Liveop only: count store reads, with notifications stripped of the session (as Redis sends them). */
  countReads?: boolean;
  /**
   * Time each POST's answer inside the server (diagnostics_channel hooks on
   * every request). Only the burst scenario asks: the hooks cost an event post
   * a few µs, which ingest, the scenario that measures that cost, must not pay.
   */
  timePosts?: boolean;
  /** Floor only: the line to write (`{{id}}` and `{{version}}` filled in per session and post). */
  lineTemplate?: string;
  /** Floor only: write each post's line to the streams (false: answer and nothing else). */
  writeLines?: boolean;
}

export interface ServerStats {
  /** Wall clock (ms, sub-ms precision) when measured. */
  at: number;
  cpuMicros: number;
  /** Of which in the kernel (system time: syscalls, and the TCP work done on their behalf). */
  cpuSystemMicros: number;
  rss: number;
  heapUsed: number;
  external: number;
  eluActive: number;
  eluIdle: number;
  /** Store reads (counting stores only), else -1. */
  reads: number;
  connections: number;
  watchers: number;
  /** GC pauses since start (total, count) and the longest since the last reset. */
  gcPauseMs: number;
  gcCount: number;
  gcMaxPauseMs: number;
  /** Event-loop delay since the last reset (5 ms resolution). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** POST answer time p99 inside the server since the last reset (head parsed → answer written), ms. */
  postAnswerP99Ms: number;
  /** The same from the first POST of its burst (one after 50 ms without any), ms. */
  burstAnswerP99Ms: number;
  /** p99 of when a burst's POSTs reached the server, from its first (ms). */
  burstArrivalP99Ms: number;
}

export type ParentMessage = {
  type: 'stats' | 'gc' | 'stop' | 'profile-start' | 'profile-stop';
  id: number;
  file?: string;
};
export type ChildMessage =
  | { type: 'ready'; url: string; pid: number }
  | { type: 'stats'; id: number; stats: ServerStats }
  | { type: 'done'; id: number };

const children = new Set<ChildProcess>();
let cleanupInstalled = false;

/** Kills every child still running (at exit, on a signal, on a crash). */
export function killChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killChildren();
      process.exit(130);
    });
  }
}

interface ForkOptions {
  env?: Record<string, string>;
  execArgv?: string[];
  stdio?: 'inherit' | 'ignore';
}

/** Forks a TypeScript module (run by tsx) with an IPC channel; tracked for cleanup. */
export function forkTs(module: string, options: ForkOptions = {}): ChildProcess {
  const path = fileURLToPath(new URL(module, import.meta.url));
  return forkJs(path, { ...options, execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])] });
}

/** Forks a JavaScript file with an IPC channel; tracked for cleanup. */
function forkJs(path: string, options: ForkOptions = {}): ChildProcess {
  installCleanup();
  const child = fork(path, [], {
    execArgv: options.execArgv ?? [],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', options.stdio ?? 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const compiledChildren = new Map<string, string>();

/**
 * The server child compiled the way `npm run build:server` compiles the
 * server (`server/scripts/bundle.ts`), so the bench
 * measures the server as `npm start` runs it rather than through tsx's
 * loader and its `keepNames` helpers. Built once per bench run, one level
 * below the root like `dist/server.js`, so paths relative to the root hold.
 */
function compiledServerChild(root = fileURLToPath(new URL('../..', import.meta.url))): string {
  let outfile = compiledChildren.get(root);
  // Again when it is gone: a build elsewhere in this tree (vite) may have emptied dist/.
  if (outfile === undefined || !existsSync(outfile)) {
    outfile = join(root, 'dist', 'bench-server-child.js');
    bundleServer(join(root, 'bench', 'lib', 'server-child.ts'), outfile);
    compiledChildren.set(root, outfile);
  }
  return outfile;
}

export interface StartOptions {
  /** Write V8 CPU profiles of the server's measured windows to this directory. */
  profileDir?: string;
  /**
   * Run the server child of another checkout (its own bench/lib/server-child.ts,
   * compiled the same way; it needs node_modules): an earlier commit, for A/B rounds.
   */
  root?: string;
}

export class ServerProcess {
  #nextId = 1;
  readonly #waiting = new Map<number, (message: ChildMessage) => void>();

  private constructor(
    readonly spec: ServerSpec,
    readonly child: ChildProcess,
    readonly url: string,
    readonly pid: number,
    readonly profileDir: string | undefined,
  ) {
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') return;
      const resolve = this.#waiting.get(message.id);
      this.#waiting.delete(message.id);
      resolve?.(message);
    });
  }

  static async start(spec: ServerSpec, options: StartOptions = {}): Promise<ServerProcess> {
    // Source maps only when profiling: they map the profile back to server/…
    // BENCH_SERVER_FLAGS: more node flags for the server (`--trace-gc`, `--max-semi-space-size=32`).
    const extra = (process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter((flag) => flag !== '');
    const execArgv = ['--expose-gc', ...(options.profileDir ? ['--enable-source-maps'] : []), ...extra];
    if (options.profileDir) mkdirSync(options.profileDir, { recursive: true });
    const child = forkJs(compiledServerChild(options.root), { env: { BENCH_SERVER: JSON.stringify(spec) }, execArgv });
    const ready = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${spec.kind} server did not start within 30 s`)), 30_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${spec.kind} server exited with ${code} before it was ready`));
      });
      child.on('message', (message: ChildMessage) => {
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        resolve(message);
      });
    });
    return new ServerProcess(spec, child, ready.url, ready.pid, options.profileDir);
  }

  #ask(type: ParentMessage['type'], timeoutMs = 30_000, file?: string, reset?: boolean): Promise<ChildMessage> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (!this.child.connected) {
        reject(new Error(`${this.spec.kind} server is gone`));
        return;
      }
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`${this.spec.kind} server did not answer "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      this.child.send({ type, id, ...(file ? { file } : {}), ...(reset ? { reset } : {}) } satisfies ParentMessage);
    });
  }

  /** `reset`: the event-loop delay and longest GC pause start afresh after this reading. */
  async stats(reset = false): Promise<ServerStats> {
    const answer = await this.#ask('stats', 30_000, undefined, reset);
    if (answer.type !== 'stats') throw new Error('unexpected answer');
    return answer.stats;
  }

  /** A full GC in the server, so RSS and heap reflect what is live. */
  async gc(): Promise<void> {
    await this.#ask('gc');
  }

  /**
   * Starts a CPU profile of the server (the inspector, in the server process);
   * `profileStop()` writes it where `profileDir` says. Only the measured
   * window is profiled, not the start-up.
   */
  async profileStart(): Promise<void> {
    if (this.profileDir) await this.#ask('profile-start');
  }

  /** Writes the profile (`<dir>/<label>-<time>.cpuprofile`); returns its path, or null when not profiling. */
  async profileStop(label: string): Promise<string | null> {
    if (!this.profileDir) return null;
    const file = join(this.profileDir, `${label}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
    await this.#ask('profile-stop', 60_000, file);
    return file;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.#ask('stop', 10_000).catch(() => {});
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Server CPU use between two stats, in % of one core. */
export function cpuPercent(a: ServerStats, b: ServerStats): number {
  return ((b.cpuMicros - a.cpuMicros) / 1000 / (b.at - a.at)) * 100;
}

/** GC pause time between two stats, in % of the wall time. */
export function gcPercent(a: ServerStats, b: ServerStats): number {
  return ((b.gcPauseMs - a.gcPauseMs) / (b.at - a.at)) * 100;
}
