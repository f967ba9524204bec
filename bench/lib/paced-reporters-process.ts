/**
 * The paced reporters (paced-reporters.ts) in a process of their own, so
 * the load generator's viewers read their lines on an event loop that is
 * not busy sending thousands of posts a second. The parent side is
 * `PacedReportersProcess`; this file, forked with BENCH_PACED=1, is the
 * child, holding the sessions (each post raises its session's percent by
 * one, up to 99) and running one set of them at a time on command.
 */
import type { ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { PacedReporters, type PacedRun, type PacedSession } from './paced-reporters.ts';
import type { Target } from './raw-http.ts';
import { forkTs } from './server-process.ts';

/** A session as the child posts to it: its events URL and headers. */
export interface PacedSpec {
  url: string;
  headers: Record<string, string>;
}

type Command =
  | { type: 'setup'; target: Target; connections: number; sets: Record<string, PacedSpec[]> }
  | { type: 'run'; set: string; hz: number; seconds: number };
type Answer = { type: 'ready' } | { type: 'done'; run: PacedRun };

export class PacedReportersProcess {
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  /** Starts the child and opens its connections; `sets` are the sessions each run may post to. */
  static async start(
    target: Target,
    connections: number,
    sets: Record<string, PacedSpec[]>,
  ): Promise<PacedReportersProcess> {
    const process = new PacedReportersProcess(forkTs('./paced-reporters-process.ts', { env: { BENCH_PACED: '1' } }));
    await process.#ask({ type: 'setup', target, connections, sets });
    return process;
  }

  /** Posts to the sessions of `set` at `hz` each for `seconds`, starting now. */
  async run(set: string, hz: number, seconds: number): Promise<PacedRun> {
    const answer = await this.#ask({ type: 'run', set, hz, seconds });
    if (answer.type !== 'done') throw new Error('unexpected answer');
    return answer.run;
  }

  stop(): void {
    this.#child.kill();
  }

  #ask(command: Command): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const exited = (code: number | null) => reject(new Error(`the reporters' process exited with ${code}`));
      this.#child.once('exit', exited);
      this.#child.once('message', (answer: Answer) => {
        this.#child.off('exit', exited);
        resolve(answer);
      });
      this.#child.send(command);
    });
  }
}

if (process.env.BENCH_PACED === '1') {
  let reporters: PacedReporters | undefined;
  const sets = new Map<string, PacedSession[]>();
  const reply = (answer: Answer) => process.send?.(answer);
  process.on('message', (command: Command) => {
    if (command.type === 'setup') {
      reporters = new PacedReporters(command.target, command.connections);
      for (const [name, specs] of Object.entries(command.sets)) {
        sets.set(
          name,
          specs.map((spec) => {
            let sent = 0;
            return { ...spec, body: () => `[{"type":"percent","task":"main","value":${Math.min(99, ++sent)}}]` };
          }),
        );
      }
      void reporters.ready().then(() => reply({ type: 'ready' }));
      return;
    }
    const startAt = performance.now() + 20;
    void reporters!
      .run(sets.get(command.set) ?? [], command.hz, startAt, startAt + command.seconds * 1000)
      .then((run) => reply({ type: 'done', run }));
  });
  process.on('disconnect', () => process.exit(0));
}
