/**
 * The fault injector: every 1–3.5 s (chosen from the seed) one fault of a
 * kind chosen from the seed, against a process chosen from the seed. A
 * killed process is started again after a moment; a stopped one continued.
 * At most one instance, one worker and Redis are under a fault at a time, so
 * the system is always degraded, never simply off.
 */
import type { Managed } from './processes.ts';
import type { ChaosProxy } from './proxy.ts';
import type { Random } from './random.ts';
import type { ViewerRecord } from './viewers.ts';

export const FAULT_KINDS = [
  'instance kill -9',
  'instance SIGTERM',
  'instance SIGSTOP/SIGCONT',
  'worker kill -9',
  'worker SIGTERM',
  'Redis SIGSTOP/SIGCONT',
  'Redis restart',
  'connections reset',
  'slow reader',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultLog {
  kind: FaultKind;
  target: string;
  at: number;
  /** When the target was whole again. */
  healedAt: number | null;
}

export interface Targets {
  instances: Managed[];
  workers: Managed[];
  redis: Managed;
  proxy: ChaosProxy;
  viewers: () => ViewerRecord[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class FaultInjector {
  readonly log: FaultLog[] = [];
  readonly #random: Random;
  readonly #targets: Targets;
  readonly #busy = new Set<string>();
  readonly #healing: Promise<void>[] = [];

  constructor(random: Random, targets: Targets) {
    this.#random = random;
    this.#targets = targets;
  }

  /** Injects faults until `stop` aborts, then waits until every target is whole again. */
  async run(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      await sleep(this.#random.int(1_000, 3_500));
      if (stop.aborted) break;
      this.#inject(this.#random.pick(FAULT_KINDS));
    }
    await Promise.all(this.#healing);
  }

  #inject(kind: FaultKind): void {
    const t = this.#targets;
    const random = this.#random;
    switch (kind) {
      case 'instance kill -9':
      case 'instance SIGTERM':
        this.#on(kind, t.instances, 'instances', async (target) => {
          await target.kill(kind === 'instance kill -9' ? 'SIGKILL' : 'SIGTERM');
          await sleep(random.int(200, 2_000));
          await target.start();
        });
        return;
      case 'worker kill -9':
      case 'worker SIGTERM':
        this.#on(kind, t.workers, 'workers', async (target) => {
          await target.kill(kind === 'worker kill -9' ? 'SIGKILL' : 'SIGTERM');
          await sleep(random.int(200, 2_000));
          await target.start();
        });
        return;
      case 'instance SIGSTOP/SIGCONT':
        this.#on(kind, t.instances, 'instances', async (target) => {
          target.signal('SIGSTOP');
          await sleep(random.int(1_000, 4_000));
          target.signal('SIGCONT');
        });
        return;
      case 'Redis SIGSTOP/SIGCONT':
        this.#on(kind, [t.redis], 'redis', async (target) => {
          target.signal('SIGSTOP');
          await sleep(random.int(500, 3_000));
          target.signal('SIGCONT');
        });
        return;
      case 'Redis restart':
        this.#on(kind, [t.redis], 'redis', async (target) => {
          await target.kill('SIGKILL');
          await sleep(random.int(200, 1_500));
          await target.start();
        });
        return;
      case 'connections reset': {
        const reset = t.proxy.reset(random, random.int(1, 4));
        if (reset > 0) this.log.push({ kind, target: `${reset} connection(s)`, at: Date.now(), healedAt: Date.now() });
        return;
      }
      case 'slow reader': {
        const viewers = t.viewers().filter((v) => !v.stayed && v.failure === null);
        if (viewers.length === 0) return;
        const viewer = random.pick(viewers);
        const ms = random.int(2_000, 8_000);
        viewer.slowUntil = Date.now() + ms;
        this.log.push({ kind, target: viewer.name, at: Date.now(), healedAt: Date.now() + ms });
        return;
      }
    }
  }

  /** Runs `fault` on a target of `group` picked from the seed, when no other fault holds that group. */
  #on(kind: FaultKind, targets: Managed[], group: string, fault: (target: Managed) => Promise<void>): void {
    const target = this.#random.pick(targets);
    if (this.#busy.has(group)) return;
    this.#busy.add(group);
    const entry: FaultLog = { kind, target: target.name, at: Date.now(), healedAt: null };
    this.log.push(entry);
    this.#healing.push(
      fault(target)
        .catch(() => {
          // A target that did not come back is in the run's troubles already.
        })
        .finally(() => {
          entry.healedAt = Date.now();
          this.#busy.delete(group);
        }),
    );
  }
}
