/**
 * The server under test, in its own process so its CPU and memory are
 * measured apart from the load generator. Started by `ServerProcess.start()`
 * with its spec in `BENCH_SERVER`; tells the parent its URL over IPC, then
 * answers `stats`, `gc` and `stop` messages.
 *
 * - `liveop`: `createLiveop({ store }).listen()`, the real server.
 * - `baseline`: the seeds' design (bench/baseline/server.ts).
 * - `hello`: a Hono "hello" route on the same @hono/node-server setup: the
 *   ceiling of what this stack serves on this machine.
 * - `polling`: the seeds' design on bare node:http (bench/baseline/polling.ts).
 * - `floor`: bare node:http writing the same bytes to the same streams
 *   (bench/baseline/floor.ts).
 * - `hono-floor`: a Hono app answering the burst's posts and writing no
 *   line (bench/baseline/hono-floor.ts).
 */

import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import { type Profiler, Session } from 'node:inspector/promises';
import { findSourceMap } from 'node:module';
import type { AddressInfo } from 'node:net';
import { createHistogram, monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createLiveop } from '../../server/liveop.ts';

const LOAD = { points: 10_000_000, seconds: 1 };

import { MemorySessionStore } from '../../server/store/memory-store.ts';
import { RedisSessionStore } from '../../server/store/redis-store.ts';
import type { SessionStore } from '../../server/store/session-store.ts';
import { createFloorServer } from '../baseline/floor.ts';
import { createHonoFloor } from '../baseline/hono-floor.ts';
import { createPollingServer } from '../baseline/polling.ts';
import { createBaseline } from '../baseline/server.ts';
import { CountingStore } from './counting-store.ts';
import type { ChildMessage, ParentMessage, ServerSpec, ServerStats } from './server-process.ts';

type Profile = Profiler.Profile;

const spec = JSON.parse(process.env.BENCH_SERVER ?? '{}') as ServerSpec;
const send = (message: ChildMessage) => process.send?.(message);

let stats: () => Partial<ServerStats> = () => ({});
let close: () => Promise<void>;
let url: string;

if (spec.kind === 'liveop') {
  const inner: SessionStore =
    spec.store === 'redis'
      ? await RedisSessionStore.connect({ url: spec.redisUrl!, prefix: spec.prefix!, log: () => {} })
      : new MemorySessionStore();
  const store = spec.countReads ? new CountingStore(inner) : inner;
  // The limits stay on (their cost is in the figures), raised past what one load
  // generator making the traffic of thousands of users from one address needs.
  const liveop = createLiveop({
    store,
    rateLimits: { create: LOAD, events: LOAD, streams: LOAD, tokens: LOAD },
    caps: { streamsPerAddress: 1_000_000, streamsPerInstance: 1_000_000, sessionsPerOwner: 1_000_000 },
  });
  const listening = await liveop.listen(0, '127.0.0.1');
  url = listening.url;
  stats = () => ({
    reads: store instanceof CountingStore ? store.reads : -1,
    ...liveop.stats(),
  });
  close = async () => {
    await listening.close();
    await liveop.close();
  };
} else if (spec.kind === 'polling' || spec.kind === 'floor') {
  let server: Server;
  if (spec.kind === 'polling') {
    const polling = createPollingServer();
    server = polling.server;
    stats = () => ({ reads: polling.reads() });
  } else {
    server = createFloorServer({
      ...(spec.lineTemplate ? { template: spec.lineTemplate } : {}),
      writeLines: spec.writeLines !== false,
    });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () =>
    new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
} else {
  const app = new Hono();
  if (spec.kind === 'baseline') {
    const baseline = createBaseline();
    app.route('/', baseline.app);
    stats = () => ({ reads: baseline.reads() });
  } else if (spec.kind === 'hono-floor') {
    app.route('/', createHonoFloor());
  } else {
    app.post('/hello', (c) => c.json({ hello: 'world' }));
    app.get('/hello', (c) => c.text('Hello Hono!'));
  }
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      url = `http://127.0.0.1:${info.port}`;
      resolve(s);
    });
  });
  close = () =>
    new Promise<void>((done) => {
      server.close(() => done());
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
}

let inspector: Session | null = null;

// How long the server took over each POST, from its parsed head to the answer's
// last byte handed to the kernel: the answer time without the client's own delays;
// and from the first POST of its burst (one after 50 ms without any), which
// for posts sent together is the server's share of their answer time.
const postAnswers = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
const burstAnswers = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
/** When each POST of a burst reached the server, from its burst's first: how spread out the burst arrives. */
const burstArrivals = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
const postStarted = new WeakMap<object, number>();
let lastPostAt = Number.NEGATIVE_INFINITY;
let burstStartedAt = 0;
if (spec.timePosts) {
  subscribe('http.server.request.start', (message) => {
    const { request, response } = message as { request: IncomingMessage; response: object };
    if (request.method !== 'POST') return;
    const now = performance.now();
    if (now - lastPostAt > 50) burstStartedAt = now;
    lastPostAt = now;
    burstArrivals.record(Math.max(1, Math.round((now - burstStartedAt) * 1000)));
    postStarted.set(response, now);
  });
  subscribe('http.server.response.finish', (message) => {
    const { response } = message as { response: object };
    const started = postStarted.get(response);
    if (started === undefined) return;
    const now = performance.now();
    postAnswers.record(Math.max(1, Math.round((now - started) * 1000)));
    burstAnswers.record(Math.max(1, Math.round((now - burstStartedAt) * 1000)));
  });
}

// What stalls the server: event-loop delay and GC pauses (totals since start).
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
let gcPauseMs = 0;
let gcMaxPauseMs = 0;
let gcCount = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcPauseMs += entry.duration;
    gcMaxPauseMs = Math.max(gcMaxPauseMs, entry.duration);
    gcCount += 1;
  }
}).observe({ entryTypes: ['gc'] });

/**
 * Points the frames of this bundled file back at the TypeScript they came
 * from, so profiles (profile-top, DevTools, speedscope) name server/… files.
 * Needs --enable-source-maps, which the bench adds with --profile.
 */
function toSources(profile: Profile): Profile {
  const self = import.meta.url;
  const map = findSourceMap(fileURLToPath(self));
  if (!map) return profile;
  for (const { callFrame } of profile.nodes) {
    if (callFrame.url !== self || callFrame.lineNumber < 0) continue;
    const entry = map.findEntry(callFrame.lineNumber, callFrame.columnNumber);
    if (!('originalSource' in entry)) continue;
    callFrame.url = entry.originalSource;
    callFrame.lineNumber = entry.originalLine;
    callFrame.columnNumber = entry.originalColumn;
  }
  return profile;
}

process.on('message', (message: ParentMessage) => {
  switch (message.type) {
    case 'profile-start':
      void (async () => {
        inspector = new Session();
        inspector.connect();
        await inspector.post('Profiler.enable');
        await inspector.post('Profiler.setSamplingInterval', { interval: 500 });
        await inspector.post('Profiler.start');
        send({ type: 'done', id: message.id });
      })();
      return;
    case 'profile-stop':
      void (async () => {
        const { profile } = await inspector!.post('Profiler.stop');
        writeFileSync(message.file!, JSON.stringify(toSources(profile)));
        inspector!.disconnect();
        inspector = null;
        send({ type: 'done', id: message.id });
      })();
      return;
    case 'stats': {
      const cpu = process.cpuUsage();
      const mem = process.memoryUsage();
      const elu = performance.eventLoopUtilization();
      send({
        type: 'stats',
        id: message.id,
        stats: {
          at: performance.timeOrigin + performance.now(),
          cpuMicros: cpu.user + cpu.system,
          cpuSystemMicros: cpu.system,
          rss: mem.rss,
          heapUsed: mem.heapUsed,
          external: mem.external,
          eluActive: elu.active,
          eluIdle: elu.idle,
          reads: -1,
          connections: -1,
          watchers: -1,
          gcPauseMs,
          gcMaxPauseMs,
          gcCount,
          loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
          loopDelayMaxMs: loopDelay.max / 1e6,
          postAnswerP99Ms: postAnswers.count === 0 ? Number.NaN : postAnswers.percentile(99) / 1000,
          burstAnswerP99Ms: burstAnswers.count === 0 ? Number.NaN : burstAnswers.percentile(99) / 1000,
          burstArrivalP99Ms: burstArrivals.count === 0 ? Number.NaN : burstArrivals.percentile(99) / 1000,
          ...stats(),
        },
      });
      if ('reset' in message && message.reset) {
        loopDelay.reset();
        postAnswers.reset();
        burstAnswers.reset();
        burstArrivals.reset();
        gcMaxPauseMs = 0;
      }
      return;
    }
    case 'gc':
      // Twice: the first pass may only queue finalizers.
      globalThis.gc?.();
      globalThis.gc?.();
      send({ type: 'done', id: message.id });
      return;
    case 'stop': {
      const exit = () => {
        send({ type: 'done', id: message.id });
        // --cpu-prof writes its profile on a normal exit.
        setTimeout(() => process.exit(0), 50);
      };
      const timer = setTimeout(exit, 3_000);
      void close()
        .catch(() => {})
        .finally(() => {
          clearTimeout(timer);
          exit();
        });
      return;
    }
    default:
      throw new Error(`unknown message ${JSON.stringify(message.type satisfies never)}`);
  }
});
process.on('disconnect', () => process.exit(0));

send({ type: 'ready', url: url!, pid: process.pid });
