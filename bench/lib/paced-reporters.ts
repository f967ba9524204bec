/**
 * Reporters at a steady rate spread over many sessions, on a few keep-alive
 * connections: session j of n posts at `startAt + (j / n + k) / hz` s for
 * k = 0, 1, …, each connection taking every `connections`-th session in the
 * order they are due. A connection that falls behind (the server saturated)
 * posts at once, one request at a time, so the rate becomes what the server
 * answers; posts due after `endAt` are not sent. Times are performance.now().
 */
import { performance } from 'node:perf_hooks';
import { RawConnection, requestBytes, type Target } from './raw-http.ts';
import { sleep } from './report.ts';

export interface PacedSession {
  url: string;
  headers: Record<string, string>;
  /** The body of this session's next post. */
  body(): string;
}

export interface PacedRun {
  posted: number;
  errors: number;
  /** Posts sent more than one period after they were due. */
  late: number;
}

export class PacedReporters {
  readonly #connections: RawConnection[];

  constructor(target: Target, connections: number) {
    this.#connections = Array.from({ length: connections }, () => new RawConnection(target));
  }

  ready(): Promise<unknown> {
    return Promise.all(this.#connections.map((c) => c.ready));
  }

  /** Posts for `sessions` at `hz` each from `startAt` until `endAt`. */
  async run(sessions: PacedSession[], hz: number, startAt: number, endAt: number): Promise<PacedRun> {
    const periodMs = 1000 / hz;
    const result: PacedRun = { posted: 0, errors: 0, late: 0 };
    const lanes = this.#connections.map(async (connection, c) => {
      const mine: number[] = [];
      for (let j = c; j < sessions.length; j += this.#connections.length) mine.push(j);
      for (let k = 0; ; k++) {
        for (const j of mine) {
          const due = startAt + (j / sessions.length + k) * periodMs;
          if (due >= endAt) return;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
          else if (wait < -periodMs) result.late += 1;
          if (performance.now() >= endAt) return;
          const session = sessions[j]!;
          try {
            const answer = await connection.request(requestBytes('POST', session.url, session.headers, session.body()));
            if (answer.status === 200) result.posted += 1;
            else result.errors += 1;
          } catch {
            result.errors += 1;
            return;
          }
        }
      }
    });
    await Promise.all(lanes);
    return result;
  }

  close(): void {
    for (const c of this.#connections) c.close();
  }
}
