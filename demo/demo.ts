/**
 * The demo: what `npm start` serves at `/`. Starts sessions that look like
 * real work — a sequential import with stages and logs, and two parallel
 * fetches, one slow — so the element has something to show.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { setTimeout } from 'node:timers/promises';
import { type Context, Hono } from 'hono';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { ApiError, respondError } from '../server/http/errors.ts';
import type { Liveop } from '../server/liveop.ts';

// Node's abortable timer: no listener left behind on the signal.
const sleep = (ms: number, signal?: AbortSignal) => setTimeout(ms, undefined, signal ? { signal } : {});

export interface DemoOptions {
  /** Multiplies every delay (tests run the demo fast). @default 1 */
  speed?: number;
  /** Demo sessions one client address may start a minute (429 past it). @default 10 */
  perMinute?: number;
  /** Demo sessions running at once, from everyone (503 past it): they share the server's task pool. @default 20 */
  maxRunning?: number;
}

/** Starts one demo session; `fail` makes the slow fetch fail, to show an error. */
export async function startDemoSession(liveop: Liveop, base: string, options: DemoOptions & { fail?: boolean } = {}) {
  const pace = 1 / (options.speed ?? 1);
  const created = await liveop.createSession(
    {
      title: options.fail ? 'Nightly sync (will fail)' : 'Import catalogue',
      tasks: [
        { id: 'import', name: 'Import products', weight: 3, expectedMs: 9_000 * pace },
        { id: 'prices', name: 'Fetch prices', expectedMs: 3_000 * pace },
        { id: 'stock', name: 'Fetch stock levels (slow)', expectedMs: 12_000 * pace },
      ],
      stages: ['Load', 'Process', 'Save'],
      // The demo shows the cancel button, with or without API keys.
      viewerScope: 'view+cancel',
    },
    { base },
  );
  const { session } = created;
  const rows = Array.from({ length: 40 }, (_, i) => `SKU-${1000 + i}`);
  const importing = session.addSequential('import', async (task) => {
    await task.stage('Load', async () => {
      task.message('Reading products.csv');
      await sleep(1_200 * pace, task.signal);
      task.log('Loaded 40 rows from products.csv');
    });
    await task.stage('Process', async () => {
      for await (const sku of task.track(rows)) {
        await sleep(150 * pace, task.signal);
        const n = Number(sku.slice(4)) - 999;
        if (n % 5 === 1) task.message(`Importing ${sku}`);
        if (n % 10 === 0) task.log(`Imported ${sku}`);
      }
    });
    await task.stage('Save', async () => {
      task.message('Writing to the database');
      await sleep(900 * pace, task.signal);
    });
    task.result({ imported: rows.length, skipped: 0, warnings: 2 }, [
      { name: 'import-report.csv', url: `${base}/demo/report.csv` },
    ]);
  });
  const prices = session.addParallel('prices', async (task) => {
    for (let p = 0; p <= 100; p += 20) {
      task.percent(p);
      await sleep(500 * pace, task.signal);
    }
  });
  const stock = session.addParallel('stock', async (task) => {
    task.message('Waiting for the warehouse API');
    await sleep(4_000 * pace, task.signal);
    if (options.fail) throw new Error('Warehouse API answered 502 Bad Gateway');
    for (let p = 10; p <= 100; p += 15) {
      task.percent(p);
      task.message(`Warehouse ${Math.ceil(p / 25)} of 4`);
      await sleep(800 * pace, task.signal);
    }
  });
  /** Resolves when every task of the session has ended, however. */
  const settled = Promise.all([importing.settled(), prices.settled(), stock.settled()]).then(() => {});
  return { ...created, settled };
}

/** What the demo page may start without an API key (demo/operations.ts). */
const DEMO_OPERATIONS = new Set(['demo-import', 'demo-flaky', 'demo-chain', 'demo-answer']);

/**
 * The demo's routes: the page, and a way for it to start sessions. Anyone who
 * reaches the page may start one, so starting is limited per client address
 * and in all (the sessions run on this server's own task pool).
 */
export function demoRoutes(liveop: Liveop, options: DemoOptions = {}): Hono {
  const demo = new Hono();
  demo.onError((error, c) => respondError(c, error));
  const limiter = new RateLimiterMemory({ points: options.perMinute ?? 10, duration: 60 });
  const maxRunning = options.maxRunning ?? 20;
  let running = 0;
  // Relative to the project root: this file and the built dist/server.js both sit one level below it.
  demo.get('/', async (c) => c.html(await readFile(new URL('../demo/index.html', import.meta.url), 'utf8')));
  /** One more demo start for this visitor, or 429. */
  const admit = async (c: Context) => {
    const address = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket.remoteAddress ?? 'local';
    try {
      await limiter.consume(address);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      const wait = Math.ceil(refusal.msBeforeNext / 1000);
      throw new ApiError(429, `the demo starts ${limiter.points} sessions a minute per visitor`, undefined, wait);
    }
  };
  // The demo's registered operations (demo/operations.ts), started for the page without an API key.
  demo.post('/demo/operations/:name', async (c) => {
    const name = c.req.param('name');
    if (!DEMO_OPERATIONS.has(name)) throw new ApiError(404, `no demo operation "${name}"`);
    await admit(c);
    const input = name === 'demo-import' ? { rows: 200, msPerRow: 40 } : {};
    return c.json(await liveop.start(name, input, { base: new URL(c.req.url).origin }), 201);
  });
  demo.post('/demo/sessions', async (c) => {
    await admit(c);
    if (running >= maxRunning) throw new ApiError(503, 'the demo is busy; try again shortly', undefined, 5);
    const base = new URL(c.req.url).origin;
    const fail = c.req.query('fail') === '1';
    running += 1;
    const started = startDemoSession(liveop, base, { ...options, fail });
    void started.then(
      ({ settled }) => settled.finally(() => (running -= 1)),
      () => (running -= 1),
    );
    const { session: _session, settled: _settled, ...created } = await started;
    return c.json(created, 201);
  });
  demo.get('/favicon.ico', (c) => c.body(null, 204));
  demo.get('/demo/report.csv', (c) =>
    c.body('sku,status\nSKU-1000,imported\n', 200, { 'Content-Type': 'text/csv; charset=utf-8' }),
  );
  return demo;
}
