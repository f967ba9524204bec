/**
 * Ingest: how many single-event batches a second one instance applies
 * (`POST /sessions/:id/events`, one `steps` event each, spread over many
 * sessions, from C keep-alive connections), with the answer time and the
 * server's CPU per post. Runs against Liveop (memory store; Redis store when
 * Redis answers), the baseline, a Hono "hello" route on the same server
 * setup (the ceiling of this stack on this machine) and a bare Hono app
 * that reads each post's body (`c.req.json()`, `c.json()`: the framework's
 * own cost per post), in the same rounds. Liveop and the bare Hono app get
 * each body framing: a JSON array with a Content-Length, the same `chunked`
 * (as node:http clients send a body without one), and NDJSON, chunked (a
 * streaming upload).
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { CreatedSession } from '../../protocol/index.ts';
import { redisKeys } from '../../server/store/redis-keys.ts';
import { machineBusyPercent, machineCpu } from '../lib/machine.ts';
import { RawConnection, requestBytes, targetOf } from '../lib/raw-http.ts';
import { latencyHistogram, type Row, type ScenarioResult, sleep, summarize } from '../lib/report.ts';
import { cpuPercent, ServerProcess, type ServerSpec, type StartOptions } from '../lib/server-process.ts';
import { createSessions, reporterHeaders, stepsEvent } from '../lib/sessions.ts';

/** How a post's body is framed (see the module comment). */
export type Framing = 'length' | 'chunked' | 'ndjson';
export const FRAMINGS: readonly Framing[] = ['length', 'chunked', 'ndjson'];

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
  /** Body framings Liveop and the bare Hono app are driven with; the first is the reference. @default FRAMINGS */
  framings?: readonly Framing[];
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

/** µs of server CPU per answered post: % of one core is 10,000 µs each second. */
export const cpuPerPost = (run: IngestRun): number => (run.serverCpuPercent * 10_000) / run.perSecond;

/** One `steps` event as `framing` sends it: the request's headers and body bytes. */
function framed(
  framing: Framing,
  headers: Record<string, string>,
  done: number,
): { headers: Record<string, string>; body: string; framing: 'length' | 'chunked' } {
  if (framing !== 'ndjson') return { headers, body: stepsEvent(done), framing };
  // The same event, one line of NDJSON.
  const line = `${stepsEvent(done).slice(1, -1)}\n`;
  return { headers: { ...headers, 'Content-Type': 'application/x-ndjson' }, body: line, framing: 'chunked' };
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

export async function ingestInto(
  spec: ServerSpec,
  label: string,
  o: IngestOptions,
  root?: string,
  framing: Framing = 'length',
): Promise<IngestRun> {
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
        const post = framed(framing, reporterHeaders(session), counters[s]!);
        return requestBytes('POST', `${session.snapshotUrl}/events`, post.headers, post.body, post.framing);
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
  const framings = o.framings ?? FRAMINGS;
  const redisUp = await redisAnswers(o.redisUrl);
  const prefix = `liveop-bench-${randomBytes(6).toString('hex')}`;
  if (!redisUp) {
    notes.push(`Redis: not reachable at ${o.redisUrl}; set REDIS_URL (or --redis) to measure the Redis store`);
  }
  // Interleaved rounds: this VM's speed drifts by up to 2× within the hour,
  // so a ratio is only fair between runs made side by side.
  const all = new Map<string, IngestRun[]>();
  const record = (label: string, run: IngestRun) => all.set(label, [...(all.get(label) ?? []), run]);
  try {
    for (let round = 1; round <= o.rounds; round++) {
      const of = o.rounds > 1 ? ` (round ${round} of ${o.rounds})` : '';
      log(`  hello ceiling${of}…`);
      record('hello', await hello(o));
      for (const framing of framings) {
        log(`  bare Hono app, ${framing} bodies${of}…`);
        record(`hono ${framing}`, await ingestInto({ kind: 'hono-floor' }, `hono-${framing}`, o, undefined, framing));
        log(`  Liveop, memory store, ${framing} bodies${of}…`);
        const spec = { kind: 'liveop', store: 'memory' } as const;
        record(`memory ${framing}`, await ingestInto(spec, `liveop-memory-${framing}`, o, undefined, framing));
      }
      if (o.compareRoot) {
        log(`  before (${o.compareRoot}), memory store${of}…`);
        record('before', await ingestInto({ kind: 'liveop', store: 'memory' }, 'before-memory', o, o.compareRoot));
      }
      log(`  baseline${of}…`);
      record('baseline', await ingestInto({ kind: 'baseline' }, 'baseline', o));
      if (redisUp) {
        log(`  Liveop, Redis store (${o.redisUrl}, prefix ${prefix})${of}…`);
        const spec = { kind: 'liveop', store: 'redis', redisUrl: o.redisUrl, prefix } as const;
        record('redis', await ingestInto(spec, 'liveop-redis', o));
      }
    }
  } finally {
    if (redisUp) {
      const deleted = await deletePrefix(o.redisUrl, prefix);
      notes.push(`Redis: prefix ${prefix}, ${deleted} keys deleted after the run`);
    }
  }
  const median = (label: string): IngestRun | null => {
    const runs = all.get(label);
    return runs === undefined ? null : medianRun(runs);
  };
  const ceiling = median('hello')!;
  const memory = median(`memory ${framings[0]}`)!;
  const baseline = median('baseline')!;
  const redis = median('redis');
  const before = median('before');
  const half = ceiling.perSecond / 2;
  const rows: Row[] = [
    { metric: 'hello ceiling (requests/s)', liveop: ceiling.perSecond },
    {
      metric: `batches/s, memory store (${framings[0]})`,
      liveop: memory.perSecond,
      baseline: baseline.perSecond,
      better: 'higher',
      target: `≥ ½ hello (${Math.round(half).toLocaleString('en-US')})`,
      met: memory.perSecond >= half,
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
    { metric: '% of the hello ceiling, memory', liveop: (memory.perSecond / ceiling.perSecond) * 100 },
  ];
  // Server CPU per post, each framing beside the bare Hono app's with the same bodies.
  const lengthCpu = cpuPerPost(memory);
  for (const framing of framings) {
    const liveop = median(`memory ${framing}`)!;
    const hono = median(`hono ${framing}`)!;
    rows.push(
      { metric: `batches/s, memory, ${framing} bodies`, liveop: liveop.perSecond, baseline: hono.perSecond },
      {
        metric: `server CPU µs/post, memory, ${framing} (baseline: bare Hono)`,
        liveop: Math.round(cpuPerPost(liveop)),
        baseline: Math.round(cpuPerPost(hono)),
        better: 'lower',
        target: '≤ 2× bare Hono',
        met: cpuPerPost(liveop) <= 2 * cpuPerPost(hono),
      },
    );
    if (framing !== framings[0]) {
      rows.push({
        metric: `server CPU per post, ${framing} ÷ ${framings[0]}`,
        liveop: cpuPerPost(liveop) / lengthCpu,
        target: '≤ 1.2',
        met: cpuPerPost(liveop) <= 1.2 * lengthCpu,
      });
    }
  }
  if (redis) {
    rows.push(
      {
        metric: 'batches/s, Redis store',
        liveop: redis.perSecond,
        target: `≥ 6,000 or ≥ 0.6× memory (${Math.round(0.6 * memory.perSecond).toLocaleString('en-US')})`,
        met: redis.perSecond >= 6_000 || redis.perSecond >= 0.6 * memory.perSecond,
      },
      { metric: 'answer p99 (ms), Redis', liveop: redis.answerMs.p99 },
      { metric: 'server CPU µs/post, Redis', liveop: Math.round(cpuPerPost(redis)) },
    );
  }
  const runs = [...all.keys()].map((label) => median(label)!);
  const perRound = [...all.entries()].map(
    ([label, list]) => `${label} ${list.map((r) => Math.round(r.perSecond).toLocaleString('en-US')).join(' / ')}`,
  );
  notes.unshift(
    `${o.rounds} interleaved round(s), each figure from the median one; requests/s by round: ${perRound.join('; ')}`,
    `${o.concurrency} keep-alive connections, ${o.sessions} sessions, ${o.seconds} s each after a warm-up; ` +
      `errors: ${runs.map((r) => `${r.label} ${r.errors}`).join(', ')}`,
    `machine busy during each run (% of one core, all processes): ${runs
      .map((r) => `${r.label} ${r.machineBusyPercent.toFixed(0)}%`)
      .join(', ')}`,
    'bodies: length = a JSON array with Content-Length; chunked = the same, Transfer-Encoding: chunked; ' +
      'ndjson = one NDJSON line, chunked. The bare Hono app parses each (c.req.json()) and answers c.json()',
    'the baseline checks no token and validates nothing (JSON.parse only): it gets every shortcut',
  );
  return {
    scenario: 'ingest',
    params: { seconds: o.seconds, concurrency: o.concurrency, sessions: o.sessions, rounds: o.rounds },
    rows,
    notes,
    data: { rounds: Object.fromEntries(all) },
  };
}
