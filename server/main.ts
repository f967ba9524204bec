/**
 * The standalone server: the only file that reads the environment or calls
 * serve(). `npm start` runs it with the demo mounted at `/`.
 *
 * PORT (8787), HOST (127.0.0.1), LIVEOP_API_KEYS (KEY:OWNER[:admin],…),
 * LIVEOP_SECRET (token signing; share it between instances),
 * LIVEOP_CORS_ORIGINS (comma-separated, or *; none: loopback pages in open
 * mode, no other origin with keys), LIVEOP_DEMO (1: on, 0: off; by default on
 * in open mode only, as it lets anyone start sessions),
 * REDIS_URL (shared store for several instances), LIVEOP_REDIS_PREFIX (liveop),
 * LIVEOP_MAX_AGE_DAYS (purge sessions older than this, whatever their TTL).
 */
import { Hono } from 'hono';
import { demoRoutes } from '../demo/demo';
import { ApiError, respondError } from './http/errors';
import { createLiveop } from './liveop';
import { parseApiKeys } from './sessions/access';
import { RedisSessionStore } from './store/redis-store';

const env = process.env;
const apiKeys = parseApiKeys(env.LIVEOP_API_KEYS);
const open = Object.keys(apiKeys).length === 0;
const port = Number(env.PORT ?? 8787);
const host = env.HOST ?? '127.0.0.1';
if (open && !['127.0.0.1', 'localhost', '::1'].includes(host)) {
  console.error(`liveop: refusing to bind ${host} with no API keys; set LIVEOP_API_KEYS or bind 127.0.0.1`);
  process.exit(1);
}

const redisUrl = env.REDIS_URL;
if (redisUrl && !env.LIVEOP_SECRET) {
  console.warn('liveop: REDIS_URL without LIVEOP_SECRET: tokens minted here will not verify on other instances');
}
const maxAgeDays = Number(env.LIVEOP_MAX_AGE_DAYS ?? 0);
const store = redisUrl
  ? await RedisSessionStore.connect({
      url: redisUrl,
      prefix: env.LIVEOP_REDIS_PREFIX ?? 'liveop',
      ...(maxAgeDays > 0 ? { maxAgeMs: maxAgeDays * 86_400_000 } : {}),
    })
  : undefined;

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
  ...(env.LIVEOP_SECRET ? { secret: env.LIVEOP_SECRET } : {}),
  corsOrigins,
});

// The demo lets anyone who reaches it start sessions: on by default only where
// everyone who reaches it is on this machine (open mode), and asked for otherwise.
const demo = env.LIVEOP_DEMO === undefined || env.LIVEOP_DEMO === '' ? open : env.LIVEOP_DEMO === '1';
const app = new Hono();
app.notFound((c) => respondError(c, new ApiError(404, `no route for ${c.req.method} ${c.req.path}`)));
app.onError((error, c) => respondError(c, error));
app.route('/', liveop.routes());
if (demo) app.route('/', demoRoutes(liveop));

const listening = await liveop.listen(port, host, app);
const url = `http://${host.includes(':') ? `[${host}]` : host}:${listening.port}`;
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
    `liveop: listening on ${url} (${redisUrl ? `Redis store at ${redact(redisUrl)}, prefix ${env.LIVEOP_REDIS_PREFIX ?? 'liveop'}` : 'memory store'})`,
    open
      ? 'liveop: OPEN mode — no API keys configured, anyone on this machine may use it (loopback only)'
      : `liveop: ${Object.keys(apiKeys).length} API key(s) configured`,
    `liveop: browsers may call it from ${origins}`,
    demo
      ? `liveop: demo at ${url}/`
      : `liveop: demo off${open ? ' (LIVEOP_DEMO=0)' : ' (API keys are set; LIVEOP_DEMO=1 turns it on)'}`,
  ].join('\n'),
);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`liveop: ${signal}: telling streams to reconnect, then exiting`);
    setTimeout(() => process.exit(0), 5_000).unref();
    void listening
      .close()
      .then(() => liveop.close())
      .then(() => process.exit(0));
  });
}

/** A URL for the log, without its password. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
