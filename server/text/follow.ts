/**
 * A session's snapshots from its stream URL, as a terminal follows it: it
 * resumes after a dropped connection (`?after=` the last version), moves on to
 * chained sessions, and ends after the terminal snapshot. Needs only fetch.
 */
import { errorFromResponse } from '../client/errors.ts';
import { isTerminal, readNdjson, type Snapshot, type StreamLine } from '../protocol/index.ts';

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

/** Snapshots of one stream and the sessions it chains to, resuming after drops. */
export async function* follow(streamUrl: string, token: string | undefined): AsyncGenerator<Snapshot> {
  let url = streamUrl;
  let credential = token;
  let after: number | undefined;
  let failures = 0;
  // Until the server first answers, no answer means a wrong URL or a server that is not running: said at once.
  let answered = false;
  for (;;) {
    const target = new URL(url);
    if (after !== undefined) target.searchParams.set('after', String(after));
    let last: Snapshot | null = null;
    try {
      const response = await fetch(
        target,
        credential ? { headers: { Authorization: `Bearer ${credential}` } } : {},
      ).catch((error: unknown) => {
        const why = noAnswer(target, error);
        throw answered ? new Error(why, { cause: error }) : fatal(why, error);
      });
      answered = true;
      if (!response.ok || !response.body) {
        const refusal = await errorFromResponse(response);
        const said = `${response.status} ${refusal.code}: ${refusal.message}`;
        if (response.status === 404)
          throw new SessionGone(`the session at ${target.origin}${target.pathname} is gone (${said})`);
        throw Object.assign(new Error(`${target.origin}${target.pathname}: ${said}`), { fatal: response.status < 500 });
      }
      for await (const line of readNdjson<StreamLine>(response.body)) {
        if (line.type === 'gone') throw new SessionGone(`session ${line.id} is gone`);
        if (line.type === 'error') throw fatal(line.error.message);
        if (line.type !== 'snapshot') continue;
        failures = 0;
        last = line;
        after = line.version;
        yield line;
      }
    } catch (error) {
      if ((error as { fatal?: boolean }).fatal || ++failures > 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** failures));
      continue;
    }
    if (last === null || !isTerminal(last.status)) continue; // dropped: resume
    if (last.next?.streamUrl) {
      // A path (the server keeps no host in what it sends every viewer), on the server being followed.
      url = new URL(last.next.streamUrl, url).href;
      credential = last.next.viewerToken ?? credential;
      after = undefined;
      continue;
    }
    return;
  }
}
