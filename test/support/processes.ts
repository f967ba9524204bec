/**
 * Every process a test starts goes through `startProcess`: it runs in a
 * process group of its own, so stopping it stops whatever it started in
 * turn (`npx` → `node`, a shell → its commands), and it never outlives the
 * test process. test/support/survivors.ts fails the suite if one does anyway.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';

export interface StartedProcess {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr, when piped). */
  output(): string;
  /** What it printed on stderr alone. */
  errors(): string;
  /** Resolves with its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** True while the process runs. */
  alive(): boolean;
  /** Signals its whole process group (nothing when it is gone). */
  stop(signal?: NodeJS.Signals): void;
}

/** Groups whose leader still runs: killed when the test process exits, whatever the test did (a timeout before its cleanup, say). */
const running = new Set<number>();
process.once('exit', () => {
  for (const group of running) signalGroup(group, 'SIGKILL');
});

function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // the group is gone already
  }
}

/** Starts `command` in a new process group, with the test's environment plus `options.env`. */
export function startProcess(command: string, args: readonly string[], options: SpawnOptions = {}): StartedProcess {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
    env: { ...process.env, ...options.env },
    detached: true,
  });
  let output = '';
  let errors = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => {
    output += d;
    errors += d;
  });
  const group = child.pid!;
  const stop = (signal: NodeJS.Signals = 'SIGKILL') => signalGroup(group, signal);
  running.add(group);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      // What it started dies with it: nothing of the group is left to stop later.
      running.delete(group);
      signalGroup(group, 'SIGKILL');
      resolve(code);
    }),
  );
  return {
    child,
    output: () => output,
    errors: () => errors,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop,
  };
}
