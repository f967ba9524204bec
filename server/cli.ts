#!/usr/bin/env node
/**
 * The `liveop` command.
 *
 *   liveop serve                       the server, configured by the environment (see --help)
 *   liveop worker                      a BullMQ worker running the registered operations
 *   liveop watch <stream URL> [--token T]
 *                                      a session in the terminal (text mode); exits 0 when it
 *                                      completes, 1 on error, 2 when cancelled, 3 when it is gone
 *   liveop --help | --version
 *
 * Arguments are parsed with Node's own `util.parseArgs`: four commands and
 * two options need no dependency.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadLocale, localeFor } from '../protocol/index.ts';
import { follow, SessionGone } from './text/follow.ts';
import { printSnapshots } from './text/text-view.ts';

const HELP = `liveop — live progress of long-running work

usage:
  liveop serve                          start the server
  liveop worker                         run queued operations (BullMQ on REDIS_URL)
  liveop watch <stream URL> [--token T] [--lang L]
                                        follow a session in this terminal (L: de, fr, es,
                                        pt-BR, ja, zh-CN; English otherwise)
  liveop --help | --version

liveop serve reads its settings from the environment:
  PORT (8787), HOST (127.0.0.1; with no API keys only loopback is allowed)
  LIVEOP_API_KEYS      KEY:OWNER[:admin],… (none: open mode, loopback only)
  LIVEOP_SECRET        token signing secret; share it between instances
  LIVEOP_CORS_ORIGINS  origins that may call it from a browser (comma-separated, or *)
  REDIS_URL            share sessions between instances through Redis
  LIVEOP_REDIS_PREFIX  key prefix on Redis (liveop)
  LIVEOP_MAX_AGE_DAYS  on Redis, purge sessions older than this
  LIVEOP_RUNNER        where operations run: local (in this process), inline, or bullmq (workers)
  LIVEOP_OPERATIONS    a module whose default export registers operations: (liveop) => { liveop.operation(…) }

liveop worker reads REDIS_URL, LIVEOP_REDIS_PREFIX, LIVEOP_SECRET and LIVEOP_OPERATIONS
as the server does, and LIVEOP_WORKER_CONCURRENCY (4) and LIVEOP_STALLED_MS (30000: how
soon the job of a worker that died runs again elsewhere).

liveop watch exits 0 when the session completes, 1 on error, 2 when cancelled,
3 when it is gone.`;

/** The package's version, from source (server/cli.ts) or as installed (dist/lib/server/cli.js). */
function version(): string {
  const path = ['../package.json', '../../../package.json']
    .map((relative) => new URL(relative, import.meta.url))
    .find((url) => existsSync(url));
  return path ? (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version : 'unknown';
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      token: { type: 'string', short: 't' },
      lang: { type: 'string', short: 'l' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  const [command, url] = positionals;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.version) {
    console.log(version());
    return 0;
  }
  if (command === 'serve' || command === 'worker') {
    const { serveFromEnv, workFromEnv } = await import('./serve.ts');
    await (command === 'serve' ? serveFromEnv() : workFromEnv());
    return -1; // runs until a signal
  }
  if (command === 'watch' && url) {
    try {
      const locale = localeFor(values.lang);
      const words = { lang: values.lang, catalogue: locale === null ? undefined : await loadLocale(locale) };
      const last = await printSnapshots(follow(url, values.token), undefined, undefined, words);
      return last === null ? 1 : ({ complete: 0, error: 1, cancelled: 2 }[last.status as 'complete'] ?? 1);
    } catch (error) {
      if (error instanceof SessionGone) {
        console.error(`liveop: ${error.message}`);
        return 3;
      }
      throw error;
    }
  }
  if (command === 'watch') console.error('liveop: watch needs the stream URL of a session\n');
  else if (command !== undefined) console.error(`liveop: unknown command "${command}"\n`);
  console.error(HELP);
  return 64;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`liveop: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
