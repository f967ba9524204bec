/**
 * `npx tsx server/cli.ts watch <stream URL> [--token T]`: follows a session
 * in a terminal (text mode), follows chained sessions, resumes after a
 * dropped connection, and exits 0 when it completes, 1 on error, 2 when
 * cancelled, 3 when it is gone.
 */
import { parseArgs } from 'node:util';
import { isTerminal, readNdjson, type Snapshot, type StreamLine } from './protocol';
import { printSnapshots } from './text/text-view';

const USAGE = 'usage: cli.ts watch <stream URL> [--token TOKEN]';

/** Snapshots of one stream and the sessions it chains to, resuming after drops. */
async function* follow(streamUrl: string, token: string | undefined): AsyncGenerator<Snapshot> {
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
        if (line.type === 'gone') {
          process.exitCode = 3;
          return;
        }
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
      url = last.next.streamUrl;
      credential = last.next.viewerToken ?? credential;
      after = undefined;
      continue;
    }
    return;
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { token: { type: 'string', short: 't' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, url] = positionals;
  if (values.help || command !== 'watch' || !url) {
    console.error(USAGE);
    process.exitCode = values.help ? 0 : 64;
    return;
  }
  const last = await printSnapshots(follow(url, values.token));
  if (process.exitCode === undefined && last) {
    process.exitCode = { complete: 0, error: 1, cancelled: 2 }[last.status as 'complete'] ?? 1;
  }
}

main().catch((error: unknown) => {
  console.error(`liveop: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
