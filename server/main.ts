/**
 * The standalone server: the only file that reads the environment or calls
 * serve(). `npm start` runs it with the demo mounted at `/`.
 *
 * PORT (8787), HOST (127.0.0.1), LIVEOP_API_KEYS (KEY:OWNER[:admin],…),
 * LIVEOP_SECRET (token signing; share it between instances),
 * LIVEOP_CORS_ORIGINS (comma-separated, or *), LIVEOP_DEMO (0: no demo at `/`),
 * REDIS_URL (shared store for several instances), LIVEOP_REDIS_PREFIX (liveop),
 * LIVEOP_MAX_AGE_DAYS (purge sessions older than this, whatever their TTL).
 */
import { Hono } from 'hono';
import { demoRoutes } from '../demo/demo';
import { parseApiKeys } from './http/auth';
import { createLiveop } from './liveop';
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

const liveop = createLiveop({
  ...(store ? { store } : {}),
  apiKeys,
  ...(env.LIVEOP_SECRET ? { secret: env.LIVEOP_SECRET } : {}),
  ...(env.LIVEOP_CORS_ORIGINS
    ? { corsOrigins: env.LIVEOP_CORS_ORIGINS === '*' ? '*' : env.LIVEOP_CORS_ORIGINS.split(',') }
    : {}),
});

const app = new Hono();
app.route('/', liveop.routes());
if (env.LIVEOP_DEMO !== '0') app.route('/', demoRoutes(liveop));

const listening = await liveop.listen(port, host, app);
console.log(
  `liveop: listening on http://${host}:${listening.port} (${redisUrl ? `Redis store at ${redact(redisUrl)}` : 'memory store'})`,
);
if (open) console.log('liveop: OPEN mode — no API keys configured, anyone on this machine may use it (loopback only)');

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
