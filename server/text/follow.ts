/**
 * A session's snapshots from its stream URL, as a terminal follows it: it
 * resumes after a dropped connection from its cursor (every log line once),
 * moves on to chained sessions, and ends after the terminal snapshot. When to
 * try again and when to give up is the protocol's follower's (the element's
 * and liveop/client's too). Needs only fetch.
 */
import { errorFromResponse } from '../../client/errors.ts';
import {
  readNdjson,
  SessionCursor,
  type Snapshot,
  StreamFollower,
  type StreamLine,
  withCursor,
} from '../../protocol/index.ts';

/** The session was deleted or expired, or the server lost it (exit code 3). */
export class SessionGone extends Error {
  readonly fatal = true;
}

const fatal = (message: string, cause?: unknown) => Object.assign(new Error(message, { cause }), { fatal: true });

/** Why a fetch got no answer: `connect ECONNREFUSED 127.0.0.1:8787`, not just `fetch failed`. */
function noAnswer(url: URL, error: unknown): string {
  const cause = (error as { cause?: { message?: string; code?: string } }).cause;
  return `no answer from ${url.origin} (${cause?.message || cause?.code || (error as Error).message})`;
}

/** How long a terminal keeps trying: eight attempts in a row that got nothing. */
const ATTEMPTS = 8;

/** Snapshots of one stream and the sessions it chains to, resuming after drops. */
export async function* follow(
  streamUrl: string,
  token: string | undefined,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): AsyncGenerator<Snapshot> {
  let url = streamUrl;
  let credential = token;
  let cursor = new SessionCursor();
  const follower = new StreamFollower({ attempts: ATTEMPTS });
  // Until the server first answers, no answer means a wrong URL or a server that is not running: said at once.
  let answered = false;
  for (;;) {
    const target = withCursor(url, cursor.started ? cursor : null);
    const connection = new AbortController();
    let silence: ReturnType<typeof setTimeout> | undefined;
    const listen = (ms: number) => {
      clearTimeout(silence);
      silence = setTimeout(() => connection.abort('silent'), ms);
    };
    let next: ReturnType<StreamFollower['dropped']> | null = null;
    let problem: unknown = null;
    try {
      listen(follower.opened(cursor.started));
      const headers = credential ? { Authorization: `Bearer ${credential}` } : undefined;
      const response = await fetch(target, { signal: connection.signal, ...(headers ? { headers } : {}) }).catch(
        (error: unknown) => {
          if (connection.signal.aborted) throw error;
          const why = noAnswer(target, error);
          throw answered ? new Error(why, { cause: error }) : fatal(why, error);
        },
      );
      answered = true;
      if (!response.ok || !response.body) {
        const refusal = await errorFromResponse(response);
        const said = `${response.status} ${refusal.code}: ${refusal.message}`;
        if (response.status === 404)
          throw new SessionGone(`the session at ${target.origin}${target.pathname} is gone (${said})`);
        next = follower.refused(response.status, response.headers.get('retry-after'), Date.now());
        problem = new Error(`${target.origin}${target.pathname}: ${said}`);
        if (next.type === 'stop') throw fatal((problem as Error).message);
      } else {
        for await (const line of readNdjson<StreamLine>(response.body)) {
          listen(follower.heard());
          if (line.type === 'gone') throw new SessionGone(`session ${line.id} is gone`);
          if (line.type === 'error') throw fatal(line.error.message);
          if (line.type === 'reconnect') {
            next = follower.dropped('reconnect');
            break;
          }
          if (line.type !== 'snapshot') continue;
          const snapshot = cursor.accept(line);
          if (snapshot === null) continue;
          clearTimeout(silence); // the terminal may take its time
          yield snapshot;
          listen(follower.heard());
        }
      }
    } catch (error) {
      if ((error as { fatal?: boolean }).fatal) throw error;
      problem = error;
    } finally {
      clearTimeout(silence);
      connection.abort();
    }
    const last = cursor.last;
    if (cursor.ended && last !== null) {
      if (!last.next?.streamUrl) return;
      // A path (the server keeps no host in what it sends every viewer), on the server being followed.
      url = new URL(last.next.streamUrl, url).href;
      credential = last.next.viewerToken ?? credential;
      cursor = new SessionCursor();
      continue;
    }
    // Dropped before the end: resume, as the follower says.
    next ??= follower.dropped(connection.signal.reason === 'silent' ? 'silent' : 'error');
    if (next.type === 'stop') throw problem instanceof Error ? problem : new Error(next.reason);
    if (next.type === 'wait') await sleep(next.ms);
  }
}
