/**
 * A session's snapshots from its stream URL, as a terminal follows it: it
 * resumes after a dropped connection (`?after=` the last version), moves on to
 * chained sessions, and ends after the terminal snapshot. Needs only fetch.
 */
import { isTerminal, readNdjson, type Snapshot, type StreamLine } from '../protocol/index.ts';

/** The session was deleted or expired while followed (exit code 3). */
export class SessionGone extends Error {
  readonly fatal = true;
}

/** Snapshots of one stream and the sessions it chains to, resuming after drops. */
export async function* follow(streamUrl: string, token: string | undefined): AsyncGenerator<Snapshot> {
  let url = streamUrl;
  let credential = token;
  let after: number | undefined;
  let failures = 0;
  for (;;) {
    const target = new URL(url);
    if (after !== undefined) target.searchParams.set('after', String(after));
    let last: Snapshot | null = null;
    try {
      const response = await fetch(target, credential ? { headers: { Authorization: `Bearer ${credential}` } } : {});
      if (!response.ok || !response.body) {
        const body = await response.text();
        throw Object.assign(new Error(`${response.status}: ${body}`), { fatal: response.status < 500 });
      }
      for await (const line of readNdjson<StreamLine>(response.body)) {
        if (line.type === 'gone') throw new SessionGone(`session ${line.id} is gone`);
        if (line.type === 'error') throw Object.assign(new Error(line.error.message), { fatal: true });
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
