/**
 * The standalone server: the only module that reads the environment or
 * listens. `liveop serve` (server/cli.ts) runs it; `npm start` in a checkout
 * runs it with the demo mounted (demo/main.ts).
 *
 * PORT (8787), HOST (127.0.0.1), LIVEOP_API_KEYS (KEY:OWNER[:admin],…),
 * LIVEOP_SECRET (token signing; share it between instances),
 * LIVEOP_CORS_ORIGINS (comma-separated, or *; none: loopback pages in open
 * mode, no other origin with keys), REDIS_URL (shared store for several
 * instances), LIVEOP_REDIS_PREFIX (liveop), LIVEOP_MAX_AGE_DAYS (purge
 * sessions older than this, whatever their TTL, on either store),
 * LIVEOP_TTL_SECONDS (how long a session is kept after it ends; 300).
 */

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Hono } from 'hono';
import { withContractErrors } from './http/app.ts';
import { parseCaps, parseRateLimits } from './http/limits.ts';
import { createLiveop, type Listening, type Liveop } from './liveop.ts';
import { parseApiKeys } from './sessions/access.ts';
import { MemorySessionStore } from './store/memory-store.ts';

export interface ServeOptions {
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Registers operations before serving (besides LIVEOP_OPERATIONS). */
  register?: RegisterOperations;
  /**
   * Mounts more routes beside the API (the demo, say); answers a start-up
   * line to print, or nothing.
   */
  mount?: (app: Hono, liveop: Liveop, context: { open: boolean; url: () => string }) => string | undefined;
}

/** Registers operations on a Liveop: what `LIVEOP_OPERATIONS` names (its default export), or the demo's. */
export type RegisterOperations = (liveop: Liveop) => void | Promise<void>;

/** A Liveop made as the environment says, with its operations registered. */
async function liveopFromEnv(
  env: NodeJS.ProcessEnv,
  register: RegisterOperations | undefined,
  warnings: string[],
): Promise<{ liveop: Liveop; apiKeys: Record<string, unknown>; store: string; corsOrigins: string[] | '*' }> {
  const apiKeys = parseApiKeys(env.LIVEOP_API_KEYS);
  const redisUrl = env.REDIS_URL;
  if (redisUrl && !env.LIVEOP_SECRET) {
    warnings.push('liveop: REDIS_URL without LIVEOP_SECRET: tokens minted here will not verify on other instances');
  }
  const maxAgeDays = wholeNumber(env, 'LIVEOP_MAX_AGE_DAYS', 1) ?? 0;
  const ttlSeconds = wholeNumber(env, 'LIVEOP_TTL_SECONDS', 1);
  const prefix = env.LIVEOP_REDIS_PREFIX ?? 'liveop';
  const runnerName = env.LIVEOP_RUNNER ?? 'local';
  if (!['local', 'inline', 'bullmq'].includes(runnerName))
    throw new Error(`LIVEOP_RUNNER: "${runnerName}" is not local, inline or bullmq`);
  if (runnerName === 'bullmq' && !redisUrl) throw new Error('LIVEOP_RUNNER=bullmq needs REDIS_URL');
  if (runnerName === 'bullmq') requireOptional('LIVEOP_RUNNER=bullmq', BULLMQ_PACKAGES);
  else if (redisUrl) requireOptional('REDIS_URL', ['@keyv/redis']);
  // Loaded only when asked for: @keyv/redis is an optional dependency.
  const store = redisUrl
    ? await (await import('./store/redis-store.ts')).RedisSessionStore.connect({
        url: redisUrl,
        prefix,
        ...(maxAgeDays > 0 ? { maxAgeMs: maxAgeDays * 86_400_000 } : {}),
      }).catch((error: unknown) => {
        throw new Error(`REDIS_URL ${redact(redisUrl)}: ${explain(error)}`);
      })
    : maxAgeDays > 0
      ? new MemorySessionStore({ maxAgeMs: maxAgeDays * 86_400_000 })
      : undefined;
  const stalledMs = env.LIVEOP_STALLED_MS ? Number(env.LIVEOP_STALLED_MS) : undefined;
  if (stalledMs !== undefined && !(Number.isInteger(stalledMs) && stalledMs >= 100)) {
    throw new Error(`LIVEOP_STALLED_MS: "${env.LIVEOP_STALLED_MS}" is not a whole number of milliseconds, 100 or more`);
  }
  const runner =
    runnerName === 'bullmq'
      ? {
          bullmq: {
            url: redisUrl!,
            prefix,
            ...(stalledMs ? { stalledMs } : {}),
          },
        }
      : (runnerName as 'local' | 'inline');
  const corsOrigins: string[] | '*' =
    env.LIVEOP_CORS_ORIGINS === '*'
      ? '*'
      : (env.LIVEOP_CORS_ORIGINS ?? '')
          .split(',')
          .map((o) => o.trim())
          .filter((o) => o !== '');
  const liveop = createLiveop({
    ...(store ? { store } : {}),
    apiKeys,
    // Comma-separated: the first signs, all verify (rotation with no downtime).
    ...(env.LIVEOP_SECRET ? { secret: env.LIVEOP_SECRET.split(',').map((s) => s.trim()) } : {}),
    corsOrigins,
    runner,
    rateLimits: parseRateLimits(env.LIVEOP_RATE_LIMITS),
    caps: parseCaps(env.LIVEOP_CAPS),
    ...(ttlSeconds === undefined ? {} : { sessionDefaults: { ttlSeconds } }),
    ...(env.LIVEOP_WEBHOOK_SECRET
      ? { webhooks: { secret: env.LIVEOP_WEBHOOK_SECRET, allowPrivateNetworks: env.LIVEOP_WEBHOOK_PRIVATE === '1' } }
      : {}),
  });
  await register?.(liveop);
  if (env.LIVEOP_OPERATIONS) {
    const module = (await import(pathToFileURL(resolve(env.LIVEOP_OPERATIONS)).href)) as {
      default?: RegisterOperations;
    };
    if (typeof module.default !== 'function') {
      throw new Error(`LIVEOP_OPERATIONS: ${env.LIVEOP_OPERATIONS} has no default export registering operations`);
    }
    await module.default(liveop);
  }
  const where = redisUrl ? `Redis store at ${redact(redisUrl)}, prefix ${prefix}` : 'memory store';
  return {
    liveop,
    apiKeys,
    store: `${where}; operations run ${runnerName === 'local' ? 'in this process' : runnerName === 'inline' ? 'inline' : 'on BullMQ workers'}`,
    corsOrigins,
  };
}

/**
 * A BullMQ worker as the environment says (REDIS_URL, LIVEOP_REDIS_PREFIX,
 * LIVEOP_SECRET, LIVEOP_OPERATIONS, LIVEOP_WORKER_CONCURRENCY): runs queued
 * operations until SIGTERM / SIGINT, then lets the running ones finish.
 */
export function workFromEnv(options: { env?: NodeJS.ProcessEnv; register?: RegisterOperations } = {}) {
  return orExit(async () => {
    const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env), LIVEOP_RUNNER: 'bullmq' };
    if (!env.REDIS_URL) throw new Error('liveop worker needs REDIS_URL');
    requireOptional('liveop worker', BULLMQ_PACKAGES);
    const warnings: string[] = [];
    if (!options.register && !env.LIVEOP_OPERATIONS) {
      warnings.push(
        'liveop: no LIVEOP_OPERATIONS: this worker has no operations to run; set it to a module whose default export registers them',
      );
    }
    const { liveop, store } = await liveopFromEnv(env, options.register, warnings);
    const concurrency = Number(env.LIVEOP_WORKER_CONCURRENCY ?? 4);
    await liveop.work({ concurrency, log: (message) => console.log(message) });
    const hooks = env.LIVEOP_WEBHOOK_SECRET ? ', and webhook deliveries' : '';
    console.log(
      [`liveop: worker running up to ${concurrency} operations at once${hooks} (${store})`, ...warnings].join('\n'),
    );
    stopOn('letting running operations finish', async () => liveop.close());
    return liveop;
  });
}

/** Starts the server as the environment says; stops it gracefully on SIGTERM / SIGINT. */
export function serveFromEnv(options: ServeOptions = {}): Promise<{ liveop: Liveop; listening: Listening }> {
  return orExit(() => serve(options));
}

async function serve(options: ServeOptions): Promise<{ liveop: Liveop; listening: Listening }> {
  const env = options.env ?? process.env;
  const port = Number(env.PORT ?? 8787);
  const host = env.HOST ?? '127.0.0.1';
  const open = Object.keys(parseApiKeys(env.LIVEOP_API_KEYS)).length === 0;
  if (open && !['127.0.0.1', 'localhost', '::1'].includes(host)) {
    console.error(`liveop: refusing to bind ${host} with no API keys; set LIVEOP_API_KEYS or bind 127.0.0.1`);
    process.exit(1);
  }
  const warnings: string[] = [];
  const { liveop, apiKeys, store, corsOrigins } = await liveopFromEnv(env, options.register, warnings);

  const app = withContractErrors(new Hono());
  app.route('/', liveop.routes());
  let url = '';
  const mounted = options.mount?.(app, liveop, { open, url: () => url });

  const listening = await liveop.listen(port, host, app).catch((error: unknown) => {
    throw new Error(`${explain(error)}; set PORT (or HOST) to listen elsewhere`);
  });
  url = `http://${host.includes(':') ? `[${host}]` : host}:${listening.port}`;
  const origins =
    corsOrigins === '*'
      ? 'any origin (*)'
      : corsOrigins.length > 0
        ? corsOrigins.join(', ')
        : open
          ? 'loopback pages only (http://localhost:*, http://127.0.0.1:*, http://[::1]:*)'
          : 'none (set LIVEOP_CORS_ORIGINS to embed the element on other sites)';
  // One write, so whoever reads the output sees every line together.
  console.log(
    [
      `liveop: listening on ${url} (${store})`,
      open
        ? 'liveop: OPEN mode — no API keys configured: anyone on this machine may create sessions and post events with no credential (loopback only)'
        : `liveop: ${Object.keys(apiKeys).length} API key(s) configured`,
      ...(env.REDIS_URL
        ? []
        : [
            'liveop: sessions are kept in memory: a restart loses them (open pages then say the server restarted, reporters stop); set REDIS_URL to keep them',
          ]),
      `liveop: browsers may call it from ${origins}`,
      `liveop: the element at ${url}/widget.js, the API described at ${url}/openapi.json`,
      ...(mounted ? [mounted.replaceAll('{url}', url)] : []),
      ...warnings,
    ].join('\n'),
  );

  stopOn('telling streams to reconnect', async () => {
    await listening.close();
    await liveop.close();
  });
  return { liveop, listening };
}

/** On SIGTERM or SIGINT: `stop` (what it does, said in `doing`), then exit (a second signal exits at once; 5 s at most). */
function stopOn(doing: string, stop: () => Promise<void>): void {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
      console.log(`liveop: ${signal}: ${doing}, then exiting`);
      setTimeout(() => process.exit(0), 5_000).unref();
      void stop().then(() => process.exit(0));
    });
  }
}

/** A start-up failure ends the process with one line saying what to fix, not a stack trace. */
async function orExit<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    console.error(`liveop: ${explain(error)}`);
    process.exit(1);
  }
}

/** An error's message followed by its causes': `REDIS_URL …: the session store is unavailable (connect ECONNREFUSED …)`. */
function explain(error: unknown): string {
  const messages: string[] = [];
  for (let e = error; e !== undefined && messages.length < 4; e = (e as { cause?: unknown }).cause) {
    const message = e instanceof Error ? e.message : String(e);
    if (message && !messages.includes(message)) messages.push(message);
    if (!(e instanceof Error)) break;
  }
  return messages.length > 1 ? `${messages[0]} (${messages.slice(1).join(': ')})` : (messages[0] ?? 'unknown error');
}

/** What the BullMQ runner loads: its queue, its Redis client, and the Redis store it keeps sessions in. */
const BULLMQ_PACKAGES = ['bullmq', 'ioredis', '@keyv/redis'];

/** Fails at start, naming what to install, when an optional package that `setting` needs is missing. */
function requireOptional(setting: string, packages: string[]): void {
  const missing = packages.filter((name) => {
    try {
      import.meta.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(
      `${setting} needs ${missing.length > 1 ? 'the optional packages' : 'the optional package'} ${missing.join(', ')}: npm install ${missing.join(' ')}`,
    );
  }
}

/** A URL for the log, without its password. */
/** A whole-number setting, at least `least`; undefined when unset; an error naming it otherwise. */
function wholeNumber(env: NodeJS.ProcessEnv, name: string, least: number): number | undefined {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < least) {
    throw new Error(`${name}: "${env[name]}" is not a whole number, ${least} or more`);
  }
  return value;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
