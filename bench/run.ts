/**
 * `npm run bench`: every scenario, Liveop against the seeds' design in the
 * same run, each printing a table and writing bench/results/<scenario>-<time>.json.
 *
 *   npm run bench                          # all scenarios (≈ 9 min on 2 cores)
 *   npm run bench -- fan-out ingest        # only these
 *   npm run bench -- --quick               # a small scale, to try it out (≈ 1–2 min)
 *   npm run bench -- fan-out --viewers 2000 --sessions 100 --seconds 10
 *   npm run bench -- fan-out --baseline hono  # the seeds' design on Hono instead of bare node:http
 *   npm run bench -- burst --rounds 3      # every reporter posting in the same tick; + polling and both floors
 *   npm run bench -- burst --kinds liveop,floor --compare /tmp/liveop-before   # A/B against a checkout
 *   npm run bench -- fan-out --compare /tmp/liveop-before --rounds 3   # A/B: the two servers' fan-out, interleaved
 *   npm run bench -- write-path --viewers 2000   # CPU per line written: res.write() against a pre-framed socket chunk
 *   npm run bench -- ingest --duration 5 --rounds 3   # interleaved rounds, median figures
 *   npm run bench -- ingest --compare /tmp/liveop-before   # + an earlier checkout's server in each round
 *   npm run bench -- ingest --framings length,chunked      # only these body framings (default: + ndjson)
 *   npm run bench -- --profile fan-out     # also write server CPU profiles to bench/results/profiles/
 *   npm run bench -- profile-top FILE.cpuprofile   # the heaviest functions of a profile
 *
 * Scenarios: fan-out, burst, connections, ingest, store-reads, element, write-path, outputs, parents
 *   (npm run bench -- outputs --rate 2000 --seconds 10 --viewers 100;
 *    npm run bench -- parents --sessions 10000 --viewers 100 --hz 2 --seconds 10 --rounds 3 --concurrency 100:
 *    children of one parent, its viewers, phases each way, reporters' keep-alive connections).
 * `--compare DIR` (fan-out, burst, ingest): DIR is a checkout of an earlier commit with its
 * node_modules; its server runs as `before` in the same interleaved rounds.
 */
import { readFileSync } from 'node:fs';
import { cpus, freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { profileTop } from './lib/profile-top.ts';
import { MB, RESULTS_DIR, renderTable, type ScenarioResult, writeResult } from './lib/report.ts';
import { killChildren } from './lib/server-process.ts';
import { type BurstKind, runBurst } from './scenarios/burst.ts';
import { runConnections } from './scenarios/connections.ts';
import { runElement } from './scenarios/element.ts';
import { type FanOutOptions, runFanOut } from './scenarios/fan-out.ts';
import { runFanOutCompare } from './scenarios/fan-out-compare.ts';
import { type Framing, runIngest } from './scenarios/ingest.ts';
import { runOutputs } from './scenarios/outputs.ts';
import { runParents } from './scenarios/parents.ts';
import { runStoreReads } from './scenarios/store-reads.ts';
import { runWritePath } from './scenarios/write-path.ts';

const SCENARIOS = [
  'fan-out',
  'burst',
  'connections',
  'ingest',
  'store-reads',
  'element',
  'write-path',
  'outputs',
  'parents',
] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
    // fan-out
    sessions: { type: 'string' },
    viewers: { type: 'string' },
    hz: { type: 'string' },
    seconds: { type: 'string' },
    rate: { type: 'string' },
    // fan-out
    baseline: { type: 'string' },
    // burst
    kinds: { type: 'string' },
    compare: { type: 'string' },
    // connections
    steps: { type: 'string' },
    'with-baseline-steps': { type: 'string' },
    // ingest
    duration: { type: 'string' },
    concurrency: { type: 'string' },
    redis: { type: 'string' },
    rounds: { type: 'string' },
    framings: { type: 'string' },
    // element
    updates: { type: 'string' },
  },
});

if (values.help) {
  const source = readFileSync(new URL(import.meta.url), 'utf8');
  console.log(source.slice(source.indexOf('/**') + 4, source.indexOf('*/')).replace(/^ \* ?/gm, ''));
  process.exit(0);
}

if (positionals[0] === 'profile-top') {
  for (const file of positionals.slice(1)) console.log(profileTop(file));
  process.exit(0);
}

const unknown = positionals.filter((p) => !(SCENARIOS as readonly string[]).includes(p));
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(', ')}; pick from ${SCENARIOS.join(', ')} (or profile-top FILE)`);
  process.exit(2);
}
const chosen: Scenario[] = positionals.length > 0 ? (positionals as Scenario[]) : [...SCENARIOS];
const quick = values.quick;
const num = (value: string | undefined, fallback: number) => (value === undefined ? fallback : Number(value));
const profileDir = values.profile ? join(RESULTS_DIR, 'profiles') : undefined;
const redisUrl = values.redis ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryTotalMb: Math.round(totalmem() / MB),
  memoryFreeMb: Math.round(freemem() / MB),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
};
const log = (line: string) => console.log(line);
log(
  `Liveop benchmarks — ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryTotalMb} MB, Node ${machine.node}` +
    `${quick ? ' (quick scale)' : ''}`,
);
log('Every figure: Liveop vs the baseline (the seeds’ design: every stream polls the cache every 100 ms), same run.\n');

const results: ScenarioResult[] = [];
let failed = false;
for (const scenario of chosen) {
  log(`== ${scenario} ==`);
  const started = Date.now();
  try {
    const result = await runScenario(scenario);
    if (result === null) continue;
    results.push(result);
    log(`\n${renderTable(result)}`);
    log(`(${((Date.now() - started) / 1000).toFixed(0)} s; ${writeResult(result, machine)})\n`);
  } catch (error) {
    failed = true;
    console.error(`${scenario} failed:`, error);
    killChildren();
  }
}
process.exitCode = failed ? 1 : 0;
// Leftover sockets or timers must not keep the bench alive.
setTimeout(() => process.exit(), 200).unref();

async function runScenario(scenario: Scenario): Promise<ScenarioResult | null> {
  switch (scenario) {
    case 'fan-out': {
      const fanOut: FanOutOptions = {
        sessions: num(values.sessions, quick ? 40 : 200),
        viewers: num(values.viewers, quick ? 1_000 : 5_000),
        hz: num(values.hz, 2),
        seconds: num(values.seconds, quick ? 8 : 20),
        drainSeconds: quick ? 10 : 15,
        baseline: values.baseline === 'hono' ? 'baseline' : 'polling',
        ...(profileDir ? { profileDir } : {}),
      };
      return values.compare
        ? runFanOutCompare({ ...fanOut, compareRoot: values.compare, rounds: num(values.rounds, 3) }, log)
        : runFanOut(fanOut, log);
    }
    case 'burst': {
      const kinds = (values.kinds ?? 'liveop,polling,floor,floor-answer,hono-answer').split(',') as BurstKind[];
      if (values.compare && !kinds.includes('before')) kinds.unshift('before');
      return runBurst(
        {
          sessions: num(values.sessions, quick ? 40 : 200),
          viewers: num(values.viewers, quick ? 1_000 : 5_000),
          hz: num(values.hz, 2),
          seconds: num(values.seconds, quick ? 5 : 10),
          rounds: num(values.rounds, quick ? 1 : 3),
          kinds,
          ...(values.compare ? { compareRoot: values.compare } : {}),
          ...(profileDir ? { profileDir } : {}),
        },
        log,
      );
    }
    case 'connections':
      return runConnections(
        {
          steps: (values.steps ?? (quick ? '1000,5000' : '1000,5000,10000,20000')).split(',').map(Number),
          baselineSteps: (values['with-baseline-steps'] ?? (quick ? '1000' : '1000,5000')).split(',').map(Number),
          ...(profileDir ? { profileDir } : {}),
        },
        log,
      );
    case 'ingest':
      return runIngest(
        {
          seconds: num(values.duration, quick ? 3 : 5),
          rounds: num(values.rounds, quick ? 1 : 3),
          concurrency: num(values.concurrency, 32),
          sessions: 100,
          redisUrl,
          ...(profileDir ? { profileDir } : {}),
          ...(values.compare ? { compareRoot: values.compare } : {}),
          ...(values.framings ? { framings: values.framings.split(',') as Framing[] } : {}),
        },
        log,
      );
    case 'parents':
      return runParents(
        {
          children: num(values.sessions, quick ? 1_000 : 10_000),
          viewers: num(values.viewers, 100),
          hz: num(values.hz, 2),
          seconds: num(values.seconds, quick ? 4 : 10),
          rounds: num(values.rounds, quick ? 2 : 3),
          connections: num(values.concurrency, 100),
          ...(profileDir ? { profileDir } : {}),
        },
        log,
      );
    case 'store-reads':
      return runStoreReads({ viewers: quick ? [1, 100] : [1, 100, 1_000], changes: 10, redisUrl }, log);
    case 'element':
      return runElement({ updatesPerSecond: num(values.updates, 60), seconds: quick ? 3 : 5, tasks: 100 }, log);
    case 'write-path':
      return runWritePath({ viewers: num(values.viewers, quick ? 500 : 2_000), bursts: num(values.rounds, 40) }, log);
    case 'outputs':
      return runOutputs(
        {
          rate: num(values.rate, 2_000),
          seconds: num(values.seconds, quick ? 3 : 10),
          viewers: num(values.viewers, 100),
        },
        log,
      );
    default:
      throw new Error(`unknown scenario ${scenario satisfies never}`);
  }
}
