/**
 * `npm run chaos -- [--seconds 60] [--seed N] [--reporters 3]`: the whole
 * system (own Redis with append-only persistence, three instances, two
 * BullMQ workers, a proxy that cuts connections) under faults chosen from a
 * seed, with reporters and viewers at work; then the history is checked
 * (test/chaos/checker.ts). Exits 1 on any loss, duplicate, disorder, stuck
 * session, unexpected exit or unbounded memory. See docs/redis.md.
 */
import { parseArgs } from 'node:util';
import { check, type Final } from './checker.ts';
import { FaultInjector } from './faults.ts';
import { troubles } from './processes.ts';
import { Random } from './random.ts';
import { printReport } from './report.ts';
import { type ReportedSession, runOperations, runPythonReporter, runReporter } from './reporters.ts';
import { startSystem } from './system.ts';
import { ndjsonViewer, sseViewer, type ViewerRecord } from './viewers.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string' },
    reporters: { type: 'string', default: '3' },
    'max-rss-mb': { type: 'string', default: '400' },
  },
});
const seconds = bounded('--seconds', values.seconds, 5, 86_400);
const seed =
  values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : bounded('--seed', values.seed, 0, 2 ** 31);
const reporterCount = bounded('--reporters', values.reporters, 1, 20);
const maxRssKb = bounded('--max-rss-mb', values['max-rss-mb'], 50, 100_000) * 1024;
/** How long after the faults stop every session must have ended. */
const DRAIN_MS = 60_000;

function bounded(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`chaos: ${flag} must be a whole number from ${min} to ${max}`);
    process.exit(2);
  }
  return value;
}

process.chdir(new URL('../../', import.meta.url).pathname);
console.log(`chaos: seed ${seed}, ${seconds} s (repeat with --seed ${seed})`);
const system = await startSystem();
const stopping = async () => {
  await system.stop();
  process.exit(130);
};
process.once('SIGINT', stopping);
process.once('SIGTERM', stopping);

const baseUrl = `http://127.0.0.1:${system.proxy.port}`;
const sessions: ReportedSession[] = [];
const viewers: ViewerRecord[] = [];
const viewing: Promise<void>[] = [];
const problems: string[] = [];
const viewersStop = new AbortController();
const onSession = (session: ReportedSession) => {
  sessions.push(session);
  // An NDJSON viewer on every session, an SSE viewer on every other.
  const watchers = [ndjsonViewer];
  if (sessions.length % 2 === 0) watchers.push(sseViewer);
  for (const watch of watchers) {
    const { viewer, done } = watch(
      baseUrl,
      `viewer ${viewers.length + 1}`,
      session.id,
      session.viewerToken,
      viewersStop.signal,
    );
    viewers.push(viewer);
    viewing.push(done);
  }
};

const faultsStop = new AbortController();
const workStop = new AbortController();
const injector = new FaultInjector(Random.stream(seed, 0), { ...system, viewers: () => viewers });
const memory = setInterval(() => {
  for (const p of system.all()) p.sampleMemory();
}, 1_000);
const started = Date.now();
let failed = false;
try {
  const work = [
    ...Array.from({ length: reporterCount }, (_, i) =>
      runReporter(baseUrl, `reporter ${i + 1}`, Random.stream(seed, i + 2), workStop.signal, onSession, problems),
    ),
    runOperations(baseUrl, Random.stream(seed, 1), workStop.signal, onSession),
  ];
  const python = runPythonReporter(baseUrl, started + seconds * 1_000, seed, onSession, problems);
  const faulting = injector.run(faultsStop.signal);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1_000));
  faultsStop.abort();
  workStop.abort();
  await faulting;
  // The work finishes what it started; every viewer sees its session end.
  const drained = Promise.all([...work, python.done, ...viewing]);
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), DRAIN_MS).unref());
  if ((await Promise.race([drained, timeout])) === 'timeout') {
    problems.push(`the work and its viewers had not finished ${DRAIN_MS / 1000} s after the faults stopped`);
    python.stop();
  }
  viewersStop.abort();
  const finals = await readFinals(sessions);
  for (const p of system.all()) {
    if (p.maxRssKb > maxRssKb) problems.push(`${p.name} grew to ${Math.round(p.maxRssKb / 1024)} MB of memory`);
  }
  const verdict = check(sessions, finals, viewers, injector.log);
  // What the processes said about a session that did not end: where to start looking.
  for (const session of sessions) {
    const status = finals.get(session.id)?.status;
    if (status === 'pending' || status === 'running')
      problems.push(...system.all().flatMap((p) => p.mentions(session.id)));
  }
  failed = printReport({
    seconds,
    seed,
    faults: injector.log,
    sessions,
    viewers,
    processes: system.all(),
    verdict,
    problems: [...troubles, ...problems],
    connections: system.proxy.connections,
  });
} catch (error) {
  console.error('chaos: the run failed:', error);
  failed = true;
} finally {
  clearInterval(memory);
  // Bounded: whatever is left then is killed with its group as this process exits (test/support/processes.ts).
  await Promise.race([system.stop(), new Promise((resolve) => setTimeout(resolve, 20_000).unref())]);
}
process.exit(failed ? 1 : 0);

/** Every session as `GET /sessions/:id` answers now (null for one that cannot be read). */
async function readFinals(of: ReportedSession[]): Promise<Map<string, Final | null>> {
  const finals = new Map<string, Final | null>();
  for (const { id, viewerToken } of of) {
    let final: Final | null = null;
    for (let attempt = 0; attempt < 10 && final === null; attempt++) {
      try {
        const response = await fetch(`${baseUrl}/sessions/${id}`, {
          headers: { Authorization: `Bearer ${viewerToken}` },
          signal: AbortSignal.timeout(5_000),
        });
        if (response.ok) final = (await response.json()) as Final;
        else if (response.status === 404) break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    finals.set(id, final);
  }
  return finals;
}
