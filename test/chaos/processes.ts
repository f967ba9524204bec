/**
 * The system's processes as the run sees them: each started in a process
 * group of its own (test/support/processes.ts), restarted on the same port
 * after a fault, its exits sorted into those the run caused and the rest.
 */
import { readFileSync } from 'node:fs';
import { type StartedProcess, startProcess } from '../support/processes.ts';

export type Role = 'instance' | 'worker' | 'redis' | 'reporter';

export interface Spec {
  name: string;
  role: Role;
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Printed once it is ready to serve. */
  ready: string;
}

/** What went wrong with the processes: exits the run did not cause, starts that never came up. */
export const troubles: string[] = [];

export class Managed {
  readonly spec: Spec;
  #process: StartedProcess | null = null;
  /** Set before the run signals it, so the exit that follows is expected. */
  #expecting = false;
  /** Starts that failed before ready (Redis down while an instance started, say) and were tried again. */
  retriedStarts = 0;
  maxRssKb = 0;
  /** What it printed, over all its starts before the current one. */
  #earlier = '';

  constructor(spec: Spec) {
    this.spec = spec;
  }

  get name(): string {
    return this.spec.name;
  }

  alive(): boolean {
    return this.#process?.alive() ?? false;
  }

  /** Starts it and waits until it says it is ready, trying again for 30 s while it fails to start. */
  async start(): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.#process) this.#earlier += this.#process.output();
      const started = startProcess(this.spec.command, this.spec.args, { env: this.spec.env ?? {} });
      this.#process = started;
      this.#expecting = true;
      while (started.alive() && !started.output().includes(this.spec.ready) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (started.alive() && started.output().includes(this.spec.ready)) {
        this.#expecting = false;
        void started.exited.then((code) => {
          if (this.#process === started && !this.#expecting) {
            troubles.push(`${this.name} exited by itself (code ${code}): ${tail(started.output())}`);
          }
        });
        return;
      }
      started.stop('SIGKILL');
      await started.exited;
      if (Date.now() >= deadline) {
        troubles.push(`${this.name} did not start within 30 s: ${tail(started.output())}`);
        throw new Error(`${this.name} did not start`);
      }
      this.retriedStarts++;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** Ends it with `signal` (the whole group) and waits for the exit. */
  async kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const started = this.#process;
    if (!started?.alive()) return;
    this.#expecting = true;
    // A stopped process does not act on SIGTERM until it runs again.
    started.stop('SIGCONT');
    started.stop(signal);
    // A graceful stop has 5 s of its own (server/serve.ts); past that it is stuck.
    const timer = setTimeout(() => started.stop('SIGKILL'), 15_000);
    await started.exited;
    clearTimeout(timer);
  }

  /** SIGSTOP or SIGCONT to its group. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    if (this.#process?.alive()) this.#process.stop(signal);
  }

  /** Reads its resident memory now (the group's leader), keeping the highest seen. */
  sampleMemory(): void {
    const pid = this.#process?.child.pid;
    if (pid === undefined || !this.alive()) return;
    try {
      const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) this.maxRssKb = Math.max(this.maxRssKb, Number(match[1]));
    } catch {
      // exited meanwhile
    }
  }

  /** The lines it printed (in any of its runs) that mention `text`: what a process said about a stuck session. */
  mentions(text: string): string[] {
    return `${this.#earlier}${this.#process?.output() ?? ''}`
      .split('\n')
      .filter((line) => line.includes(text))
      .map((line) => `${this.name}: ${line}`);
  }

  /** Stops it for good, at the end of the run. */
  async stop(): Promise<void> {
    await this.kill('SIGKILL');
  }
}

function tail(output: string): string {
  return output.trim().split('\n').slice(-5).join(' | ');
}
