/**
 * Ingest: how many single-event batches a second one instance applies
 * (`POST /sessions/:id/events`, one `steps` event each, spread over many
 * sessions, from C keep-alive connections), with the answer time. Runs
 * against Liveop (memory store; Redis store when Redis answers), the
 * baseline, and a Hono "hello" route on the same server setup: the ceiling
 * of this stack on this machine, measured in the same run.
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { CreatedSession } from '../../server/protocol/index.ts';
import { redisKeys } from '../../server/store/redis-keys.ts';
import { machineBusyPercent, machineCpu } from '../lib/machine.ts';
import { RawConnection, requestBytes, targetOf } from '../lib/raw-http.ts';
import { latencyHistogram, type Row, type ScenarioResult, sleep, summarize } from '../lib/report.ts';
import { cpuPercent, ServerProcess, type ServerSpec, type StartOptions } from '../lib/server-process.ts';
import { createSessions, reporterHeaders, stepsEvent } from '../lib/sessions.ts';

export interface IngestOptions {
  seconds: number;
  concurrency: number;
  sessions: number;
  redisUrl: string;
  /** Rounds of hello → memory → baseline → Redis; each figure is the median round. */
  rounds: number;
  profileDir?: string;
  /** A checkout of an earlier Liveop (with node_modules): its server runs as `before` (memory store) in each round, for A/B. */
  compareRoot?: string;
}

export interface IngestRun {
  label: string;
  requests: number;
  errors: number;
  perSecond: number;
  answerMs: ReturnType<typeof summarize>;
  serverCpuPercent: number;
  machineBusyPercent: number;
  /** The server's CPU profile of the measured window (--profile). */
  profile: string | null;
}

/** Drives `target(i)` requests from `concurrency` connections for `seconds` (after a warm-up). */
async function drive(
  server: ServerProcess,
  label: string,
  request: (i: number) => Buffer,
  o: IngestOptions,
): Promise<IngestRun> {
  const connections = Array.from({ length: o.concurrency }, () => new RawConnection(targetOf(server.url)));
  try {
    await Promise.all(connections.map((c) => c.ready));
    const answer = latencyHistogram();
    let requests = 0;
    let errors = 0;
    let measuring = false;
    let stop = false;
    let next = 0;
    const loop = async (connection: RawConnection) => {
      while (!stop) {
        const bytes = request(next++);
        const sent = performance.now();
        const response = await connection.request(bytes);
        if (!measuring) continue;
        answer.record(Math.max(1, Math.round((performance.now() - sent) * 1000)));
        if (response.status === 200) requests += 1;
        else errors += 1;
      }
    };
    const loops = connections.map(loop);
    await sleep(Math.min(2_000, o.seconds * 500)); // warm-up: JIT, caches
    const before = await server.stats();
    const machineBefore = machineCpu();
    await server.profileStart();
    measuring = true;
    const started = performance.now();
    await sleep(o.seconds * 1000);
    measuring = false;
    const elapsed = (performance.now() - started) / 1000;
    const after = await server.stats();
    const machineAfter = machineCpu();
    const profile = await server.profileStop(`ingest-${label}`);
    stop = true;
    await Promise.all(loops);
    return {
      label,
      requests,
      errors,
      perSecond: requests / elapsed,
      answerMs: summarize(answer),
      serverCpuPercent: cpuPercent(before, after),
      machineBusyPercent: machineBusyPercent(machineBefore, machineAfter, cpus().length),
      profile,
    };
  } finally {
    for (const c of connections) c.close();
  }
}

export async function ingestInto(spec: ServerSpec, label: string, o: IngestOptions, root?: string): Promise<IngestRun> {
  const options: StartOptions = { ...(o.profileDir ? { profileDir: o.profileDir } : {}), ...(root ? { root } : {}) };
  const server = await ServerProcess.start(spec, options);
  try {
    const sessions: CreatedSession[] = await createSessions(server.url, o.sessions);
    const counters = new Int32Array(sessions.length);
    return await drive(
      server,
      label,
      (i) => {
        const s = i % sessions.length;
        const session = sessions[s]!;
        counters[s] = counters[s]! + 1;
        return requestBytes(
          'POST',
          `${session.snapshotUrl}/events`,
          reporterHeaders(session),
          stepsEvent(counters[s]!),
        );
      },
      o,
    );
  } finally {
    await server.stop();
  }
}

async function hello(o: IngestOptions): Promise<IngestRun> {
  const server = await ServerProcess.start({ kind: 'hello' }, o.profileDir ? { profileDir: o.profileDir } : {});
  try {
    // The same request bytes as an event post (headers and body), to a route that only answers.
    const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${'x'.repeat(180)}` };
    const bytes = requestBytes('POST', `${server.url}/hello`, headers, stepsEvent(1));
    return await drive(server, 'hello', () => bytes, o);
  } finally {
    await server.stop();
  }
}

/** Whether Redis answers at `url` (a PING with a short timeout). */
export async function redisAnswers(url: string): Promise<boolean> {
  const { createClient } = await import('@keyv/redis');
  const client = createClient({ url, socket: { connectTimeout: 1_000, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    // A client that never connected throws from close() and destroy() alike.
    await client.close().catch(() => {
      try {
        client.destroy();
      } catch {
        // already closed
      }
    });
  }
}

/** Deletes every key of a prefix (SCAN + UNLINK). */
export async function deletePrefix(url: string, prefix: string): Promise<number> {
  const { createClient } = await import('@keyv/redis');
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  let deleted = 0;
  try {
    for (const pattern of redisKeys(prefix).patterns) {
      for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
        if (keys.length > 0) deleted += await client.unlink(keys);
      }
    }
  } finally {
    await client.close();
  }
  return deleted;
}

/** The run with the median rate (its answer times and CPU come with it). */
function medianRun(runs: IngestRun[]): IngestRun {
  const sorted = [...runs].sort((a, b) => a.perSecond - b.perSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export async function runIngest(o: IngestOptions, log: (s: string) => void): Promise<ScenarioResult> {
  const notes: string[] = [];
  const redisUp = await redisAnswers(o.redisUrl);
  const prefix = `liveop-bench-${randomBytes(6).toString('hex')}`;
  if (!redisUp) {
    notes.push(`Redis: not reachable at ${o.redisUrl}; set REDIS_URL (or --redis) to measure the Redis store`);
  }
  // Interleaved rounds: this VM's speed drifts by up to 2× within the hour,
  // so a ratio is only fair between runs made side by side.
  const all: Record<'hello' | 'memory' | 'before' | 'baseline' | 'redis', IngestRun[]> = {
    hello: [],
    memory: [],
    before: [],
    baseline: [],
    redis: [],
  };
  try {
    for (let round = 1; round <= o.rounds; round++) {
      const of = o.rounds > 1 ? ` (round ${round} of ${o.rounds})` : '';
      log(`  hello ceiling${of}…`);
      all.hello.push(await hello(o));
      log(`  Liveop, memory store${of}…`);
      all.memory.push(await ingestInto({ kind: 'liveop', store: 'memory' }, 'liveop-memory', o));
      if (o.compareRoot) {
        log(`  before (${o.compareRoot}), memory store${of}…`);
        all.before.push(await ingestInto({ kind: 'liveop', store: 'memory' }, 'before-memory', o, o.compareRoot));
      }
      log(`  baseline${of}…`);
      all.baseline.push(await ingestInto({ kind: 'baseline' }, 'baseline', o));
      if (redisUp) {
        log(`  Liveop, Redis store (${o.redisUrl}, prefix ${prefix})${of}…`);
        const spec = { kind: 'liveop', store: 'redis', redisUrl: o.redisUrl, prefix } as const;
        all.redis.push(await ingestInto(spec, 'liveop-redis', o));
      }
    }
  } finally {
    if (redisUp) {
      const deleted = await deletePrefix(o.redisUrl, prefix);
      notes.push(`Redis: prefix ${prefix}, ${deleted} keys deleted after the run`);
    }
  }
  const ceiling = medianRun(all.hello);
  const memory = medianRun(all.memory);
  const baseline = medianRun(all.baseline);
  const redis = redisUp ? medianRun(all.redis) : null;
  const before = o.compareRoot ? medianRun(all.before) : null;
  const half = ceiling.perSecond / 2;
  const rows: Row[] = [
    { metric: 'hello ceiling (requests/s)', liveop: ceiling.perSecond },
    {
      metric: 'batches/s, memory store',
      liveop: memory.perSecond,
      baseline: baseline.perSecond,
      better: 'higher',
      target: `≥ 12,000 and ≥ ½ hello (${Math.round(half).toLocaleString('en-US')})`,
      met: memory.perSecond >= 12_000 && memory.perSecond >= half,
    },
    ...(before
      ? [
          { metric: 'batches/s, memory store, before (--compare)', liveop: before.perSecond },
          { metric: 'memory store, this ÷ before', liveop: memory.perSecond / before.perSecond },
        ]
      : []),
    {
      metric: 'answer p50 (ms), memory',
      liveop: memory.answerMs.p50,
      baseline: baseline.answerMs.p50,
      better: 'lower',
    },
    {
      metric: 'answer p99 (ms), memory',
      liveop: memory.answerMs.p99,
      baseline: baseline.answerMs.p99,
      better: 'lower',
    },
    {
      metric: 'server CPU (% of one core), memory',
      liveop: memory.serverCpuPercent,
      baseline: baseline.serverCpuPercent,
      better: 'none',
    },
    { metric: '% of the hello ceiling, memory', liveop: (memory.perSecond / ceiling.perSecond) * 100 },
  ];
  if (redis) {
    rows.push(
      {
        metric: 'batches/s, Redis store',
        liveop: redis.perSecond,
        target: '≥ 6,000',
        met: redis.perSecond >= 6_000,
      },
      { metric: 'answer p99 (ms), Redis', liveop: redis.answerMs.p99 },
      { metric: 'server CPU (% of one core), Redis', liveop: redis.serverCpuPercent },
    );
  }
  const runs = [ceiling, memory, ...(before ? [before] : []), baseline, ...(redis ? [redis] : [])];
  const perRound = (Object.entries(all) as [string, IngestRun[]][])
    .filter(([, list]) => list.length > 0)
    .map(([label, list]) => `${label} ${list.map((r) => Math.round(r.perSecond).toLocaleString('en-US')).join(' / ')}`);
  notes.unshift(
    `${o.rounds} interleaved round(s), each figure from the median one; requests/s by round: ${perRound.join('; ')}`,
    `${o.concurrency} keep-alive connections, ${o.sessions} sessions, ${o.seconds} s each after a warm-up; ` +
      `errors: ${runs.map((r) => `${r.label} ${r.errors}`).join(', ')}`,
    `machine busy during each run (% of one core, all processes): ${runs
      .map((r) => `${r.label} ${r.machineBusyPercent.toFixed(0)}%`)
      .join(', ')}`,
    'the baseline checks no token and validates nothing (JSON.parse only): it gets every shortcut',
  );
  return {
    scenario: 'ingest',
    params: { seconds: o.seconds, concurrency: o.concurrency, sessions: o.sessions, rounds: o.rounds },
    rows,
    notes,
    data: { ceiling, memory, before, baseline, redis, rounds: all },
  };
}
