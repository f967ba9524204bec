/** The run's report: a table of what happened, the problems found, and the one summary line. Answers whether it failed. */
import type { Verdict } from './checker.ts';
import { FAULT_KINDS, type FaultLog } from './faults.ts';
import type { Managed } from './processes.ts';
import type { ReportedSession } from './reporters.ts';
import type { ViewerRecord } from './viewers.ts';

export interface Report {
  seconds: number;
  seed: number;
  faults: FaultLog[];
  sessions: ReportedSession[];
  viewers: ViewerRecord[];
  processes: Managed[];
  verdict: Verdict;
  problems: string[];
  connections: number;
}

export function printReport(r: Report): boolean {
  const rows: [string, string | number][] = [];
  for (const kind of FAULT_KINDS) rows.push([`fault: ${kind}`, r.faults.filter((f) => f.kind === kind).length]);
  const kinds = new Set(r.faults.map((f) => f.kind)).size;
  rows.push(['faults (kinds)', `${r.faults.length} (${kinds})`]);
  for (const kind of ['reporter', 'python', 'operation'] as const) {
    rows.push([`sessions: ${kind}`, r.sessions.filter((s) => s.kind === kind).length]);
  }
  rows.push(['log lines acknowledged', r.verdict.acknowledged]);
  rows.push(['log lines sent, not acknowledged', r.verdict.unacknowledged]);
  rows.push(['viewers (NDJSON / SSE)', `${count(r.viewers, 'ndjson')} / ${count(r.viewers, 'sse')}`]);
  rows.push(['viewers that stayed to the end', r.viewers.filter((v) => v.stayed).length]);
  rows.push(['log lines delivered to viewers', r.viewers.reduce((n, v) => n + v.logs.length, 0)]);
  rows.push(['snapshots delivered to viewers', r.viewers.reduce((n, v) => n + v.versions.length, 0)]);
  rows.push(['viewer reconnects', r.viewers.reduce((n, v) => n + Math.max(0, v.connects - 1), 0)]);
  rows.push(['connections through the proxy', r.connections]);
  rows.push(['sessions stuck', r.verdict.stuck]);
  for (const p of r.processes) {
    rows.push([`${p.name}: max RSS, starts retried`, `${Math.round(p.maxRssKb / 1024)} MB, ${p.retriedStarts}`]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [key, value] of rows) console.log(`  ${key.padEnd(width)}  ${value}`);
  const problems = [...r.problems, ...r.verdict.problems];
  if (problems.length > 0) {
    console.log('problems:');
    for (const problem of problems) console.log(`  - ${problem}`);
  }
  const v = r.verdict;
  console.log(
    `chaos: ${r.faults.length} faults, ${v.acknowledged} events acknowledged, ${v.lost} lost, ${v.duplicated} duplicated, ${v.outOfOrder} out of order`,
  );
  return v.lost + v.duplicated + v.outOfOrder + v.stuck > 0 || problems.length > 0;
}

function count(viewers: ViewerRecord[], kind: ViewerRecord['kind']): number {
  return viewers.filter((v) => v.kind === kind).length;
}
