/**
 * One round of polling for a shared connection whose stream was refused or
 * held back by a proxy: each session's snapshot (`GET /sessions/:id`) handed
 * to its subscriber, or the refusal that ends it. A chunk of its own, loaded
 * the first time a connection polls (a stream that works never does). It
 * imports nothing the element's bundle holds: the protocol's helpers come in
 * as arguments, as Lit does for content-view.ts.
 */
import type { parseRetryAfter, sessionUrl, withToken } from '../protocol/index.ts';
import type { ErrorBody, Snapshot } from '../protocol/wire.ts';

/** A session to poll: what this round needs of the connection's `Subscriber`. */
export interface Polled {
  readonly id: string;
  readonly base: string;
  readonly token: string;
  line(snapshot: Snapshot): void;
  fail(status: number, code?: string): void;
}

/** The sessions to poll, and the connection's means. */
export interface PollRound {
  subs: Polled[];
  /** The connection's subscribers now: one that left while its answer came hears nothing. */
  listening: ReadonlySet<Polled>;
  fetch: typeof fetch;
  signal: AbortSignal;
  /** The usual wait before the next round. */
  wait: number;
}

/** The element's copies of the protocol's helpers. */
export interface PollProtocol {
  sessionUrl: typeof sessionUrl;
  withToken: typeof withToken;
  parseRetryAfter: typeof parseRetryAfter;
}

/** Polls each session once; resolves to how long to wait before the next round (longer when an answer asked). */
export async function poll(round: PollRound, protocol: PollProtocol): Promise<number> {
  let { wait } = round;
  await Promise.all(
    round.subs.map(async (sub) => {
      const url = protocol.withToken(protocol.sessionUrl(sub.base, sub.id), sub.token);
      try {
        const response = await round.fetch(url, { signal: round.signal, cache: 'no-store' });
        const status = response.status;
        if (response.ok) {
          const snapshot = (await response.json()) as Snapshot;
          if (snapshot.id === sub.id && round.listening.has(sub)) sub.line(snapshot);
        } else if (status > 399 && status < 500 && status !== 429) {
          const body = (await response.json().catch(() => null)) as ErrorBody | null;
          if (round.listening.has(sub)) sub.fail(status, body?.error?.code);
        } else {
          const asked = protocol.parseRetryAfter(response.headers.get('retry-after'), Date.now());
          wait = Math.max(wait, asked ?? 0);
        }
      } catch {
        // offline or aborted: try again next round
      }
    }),
  );
  return wait;
}
