/**
 * Tables and JSON results. Every figure is a row: Liveop, the baseline, and
 * how many times better Liveop is (in the direction that is better for that
 * figure), with the target where the issue sets one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

export type Better = 'lower' | 'higher' | 'none';

export interface Row {
  /** What is measured, with its unit. */
  metric: string;
  liveop: number | string | null;
  baseline?: number | string | null;
  /** The floor (bare node:http writing the same bytes), where a scenario measures it. */
  floor?: number | string | null;
  /** The same Liveop figure from an earlier checkout (`--compare`), for A/B. */
  before?: number | string | null;
  better?: Better;
  /** The target, as text ("≤ 25 ms"), and whether Liveop meets it. */
  target?: string;
  met?: boolean;
  /** The floor, measured in the same run, misses the target too: it is below what this machine allows. */
  floorMisses?: boolean;
  /** Printed instead of met/MISSED when the target could not be judged (why goes in the notes). */
  verdict?: string;
}

export interface ScenarioResult {
  scenario: string;
  /** What was run (the scale and parameters), for the JSON and the table's title. */
  params: Record<string, unknown>;
  rows: Row[];
  /** Lines printed under the table: limits, caveats, sanity checks. */
  notes: string[];
  /** Everything measured, raw. */
  data: Record<string, unknown>;
}

/** Latency histogram in microseconds (HDR, from perf_hooks). */
export function latencyHistogram(): RecordableHistogram {
  return createHistogram({ lowest: 1, highest: 120_000_000, figures: 3 });
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Milliseconds, from a histogram of microseconds. */
export function summarize(h: RecordableHistogram): LatencySummary {
  if (h.count === 0) return { count: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
  return {
    count: h.count,
    p50: h.percentile(50) / 1000,
    p99: h.percentile(99) / 1000,
    max: h.max / 1000,
    mean: h.mean / 1000,
  };
}

export function fmt(value: number | string | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (Number.isNaN(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** How many times better Liveop is than the baseline, or null when it cannot be said. */
export function advantage(row: Row): string | null {
  const { liveop, baseline, better } = row;
  if (typeof liveop !== 'number' || typeof baseline !== 'number' || !better || better === 'none') return null;
  if (Number.isNaN(liveop) || Number.isNaN(baseline)) return null;
  if (liveop === baseline) return '1.0×';
  const ratio = better === 'lower' ? baseline / liveop : liveop / baseline;
  if (!Number.isFinite(ratio)) return '∞';
  return `${ratio >= 10 ? Math.round(ratio).toLocaleString('en-US') : ratio.toFixed(1)}×`;
}

export function renderTable(result: ScenarioResult): string {
  const withFloor = result.rows.some((row) => row.floor !== undefined);
  const withBefore = result.rows.some((row) => row.before !== undefined);
  const header = [
    'metric',
    ...(withBefore ? ['before'] : []),
    'Liveop',
    'baseline',
    'Liveop better by',
    ...(withFloor ? ['floor'] : []),
    'target',
    '',
  ];
  const body = result.rows.map((row) => [
    row.metric,
    ...(withBefore ? [row.before === undefined ? '' : fmt(row.before)] : []),
    fmt(row.liveop),
    row.baseline === undefined ? '' : fmt(row.baseline),
    advantage(row) ?? '',
    ...(withFloor ? [row.floor === undefined ? '' : fmt(row.floor)] : []),
    row.target ?? '',
    row.verdict ?? (row.met === undefined ? '' : row.met ? 'met' : row.floorMisses ? 'MISSED, floor too' : 'MISSED'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const params = Object.entries(result.params)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return [
    `### ${result.scenario}  (${params})`,
    '',
    line(header),
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...body.map(line),
    ...(result.notes.length > 0 ? ['', ...result.notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
}

/** Writes bench/results/<scenario>-<timestamp>.json; returns its path. */
export function writeResult(result: ScenarioResult, machine: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(RESULTS_DIR, `${result.scenario}-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify({ ...result, machine, at: new Date().toISOString() }, null, 2)}\n`);
  return file;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `check()` is true or the time is up; returns whether it became true. */
export async function waitUntil(check: () => boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= until) return false;
    await sleep(everyMs);
  }
  return true;
}

export const MB = 1024 * 1024;
