/**
 * Fan-out A/B (`npm run bench -- fan-out --compare DIR`): this checkout's
 * Liveop and an earlier checkout's (`DIR`, with its node_modules) in
 * interleaved rounds of the fan-out scenario, each figure the median of its
 * rounds, so a change to the stream path is judged against its parent on the
 * same machine at the same time.
 */
import { type Row, type ScenarioResult, sleep } from '../lib/report.ts';
import { type FanOutOptions, type FanOutRun, measureOne } from './fan-out.ts';

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const FIGURES: [string, (r: FanOutRun) => number][] = [
  ['updates delivered (% of expected)', (r) => (r.expected === 0 ? 0 : (r.delivered / r.expected) * 100)],
  ['post→line p50 (ms)', (r) => r.latencyMs.p50],
  ['post→line p99 (ms)', (r) => r.latencyMs.p99],
  ['post→line max (ms)', (r) => r.latencyMs.max],
  ['event post answer p99 (ms)', (r) => r.postAnswerMs.p99],
  ['server CPU (% of one core)', (r) => r.serverCpuPercent],
  ['server event-loop delay p99 (ms)', (r) => r.serverLoopDelayP99Ms],
  ['server event-loop delay max (ms)', (r) => r.serverLoopDelayMaxMs],
  ['server GC (% of the time)', (r) => r.serverGcPercent],
  ['server RSS (MB)', (r) => r.serverRssMb],
  ['machine busy (% of one core)', (r) => r.machineBusyPercent],
];

export async function runFanOutCompare(
  o: FanOutOptions & { compareRoot: string; rounds: number },
  log: (s: string) => void,
): Promise<ScenarioResult> {
  const runs: { after: FanOutRun[]; before: FanOutRun[] } = { after: [], before: [] };
  for (let round = 1; round <= o.rounds; round++) {
    // Alternate which goes first, so neither always meets the machine fresher.
    const order = round % 2 === 1 ? (['after', 'before'] as const) : (['before', 'after'] as const);
    for (const which of order) {
      log(`  round ${round}: ${which === 'after' ? 'this checkout' : o.compareRoot}`);
      const { root: _, ...rest } = o;
      runs[which].push(await measureOne('liveop', which === 'before' ? { ...rest, root: o.compareRoot } : rest, log));
      await sleep(1_000);
    }
  }
  const rows: Row[] = FIGURES.map(([metric, pick]) => ({
    metric,
    liveop: median(runs.after.map(pick)),
    before: median(runs.before.map(pick)),
    better: metric.startsWith('updates') ? 'higher' : metric.startsWith('machine') ? 'none' : 'lower',
  }));
  const byRound = (run: FanOutRun) =>
    `p50 ${run.latencyMs.p50.toFixed(1)} / p99 ${run.latencyMs.p99.toFixed(1)} ms, answer p99 ` +
    `${run.postAnswerMs.p99.toFixed(1)} ms, CPU ${run.serverCpuPercent.toFixed(0)}%, loop delay p99 ` +
    `${run.serverLoopDelayP99Ms.toFixed(1)} ms, delivered ${run.delivered}/${run.expected}, viewers ${run.viewersOpen}, ` +
    `machine busy ${run.machineBusyPercent.toFixed(0)}%`;
  const notes = [
    `${o.rounds} interleaved round(s); each figure the median of its rounds; 'before' is ${o.compareRoot}`,
    ...runs.after.flatMap((run, i) => [
      `round ${i + 1} liveop: ${byRound(run)}`,
      `round ${i + 1} before: ${runs.before[i] ? byRound(runs.before[i]) : '—'}`,
    ]),
  ];
  return {
    scenario: 'fan-out-compare',
    params: { sessions: o.sessions, viewers: o.viewers, hz: o.hz, seconds: o.seconds, rounds: o.rounds },
    rows,
    notes,
    data: runs,
  };
}
