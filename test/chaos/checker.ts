/**
 * The history checker: pure, from what was recorded to what went wrong.
 * - every acknowledged log line is in its session's final log exactly once,
 *   in the order its reporter sent it, and the log's seq numbers have no
 *   gaps or repeats; a line whose batch got no trusted answer may be missing,
 *   never doubled;
 * - every viewer that stayed to the end received every retained line exactly
 *   once, in seq order, and versions that never went back;
 * - every session ended as its reporter or worker made it end, none running.
 */
import type { FaultLog } from './faults.ts';
import type { ReportedSession } from './reporters.ts';
import type { ViewerRecord } from './viewers.ts';

/** A session as `GET /sessions/:id` answers at the end of the run (null: it could not be read). */
export interface Final {
  status: string;
  logs: { seq: number; line: string }[];
  result: unknown;
  error: { message?: string } | string | null;
}

export interface Verdict {
  acknowledged: number;
  unacknowledged: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  stuck: number;
  /** Each problem found, said once, for the report. */
  problems: string[];
}

const TERMINAL = new Set(['complete', 'error', 'cancelled']);
const WORKER_FAULTS = new Set(['worker kill -9', 'worker SIGTERM', 'Redis restart', 'Redis SIGSTOP/SIGCONT']);

export function check(
  sessions: ReportedSession[],
  finals: Map<string, Final | null>,
  viewers: ViewerRecord[],
  faults: FaultLog[],
): Verdict {
  const v: Verdict = {
    acknowledged: 0,
    unacknowledged: 0,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    stuck: 0,
    problems: [],
  };
  const say = (problem: string) => {
    if (v.problems.length < 50) v.problems.push(problem);
  };
  for (const session of sessions) {
    const final = finals.get(session.id);
    if (!final) {
      v.stuck++;
      say(`${session.id} (${session.by}): could not be read at the end`);
      continue;
    }
    checkLog(session, final, v, say);
    checkEnd(session, final, faults, v, say);
  }
  for (const viewer of viewers) checkViewer(viewer, finals.get(viewer.sessionId) ?? null, v, say);
  return v;
}

function checkLog(session: ReportedSession, final: Final, v: Verdict, say: (p: string) => void): void {
  const where = `${session.id} (${session.by})`;
  for (let i = 1; i < final.logs.length; i++) {
    const step = final.logs[i]!.seq - final.logs[i - 1]!.seq;
    if (step === 1) continue;
    if (step <= 0) v.duplicated++;
    else v.lost++;
    say(`${where}: log seq ${final.logs[i - 1]!.seq} is followed by ${final.logs[i]!.seq}`);
  }
  if (session.kind === 'operation') return;
  const positions = new Map<string, number[]>();
  final.logs.forEach((entry, index) => {
    positions.set(entry.line, [...(positions.get(entry.line) ?? []), index]);
  });
  let previous = -1;
  for (const line of session.lines) {
    const found = positions.get(line.text) ?? [];
    if (line.state === 'acked') v.acknowledged++;
    else v.unacknowledged++;
    if (found.length > 1) {
      v.duplicated++;
      say(`${where}: "${line.text}" is in the log ${found.length} times`);
    }
    if (line.state !== 'acked') continue;
    if (found.length === 0) {
      v.lost++;
      say(`${where}: acknowledged "${line.text}" is not in the log`);
      continue;
    }
    if (found[0]! < previous) {
      v.outOfOrder++;
      say(`${where}: acknowledged "${line.text}" comes before a line sent earlier`);
    }
    previous = Math.max(previous, found[0]!);
  }
  const sent = new Set(session.lines.map((l) => l.text));
  for (const entry of final.logs) {
    if (!sent.has(entry.line)) say(`${where}: the log holds "${entry.line}", which its reporter never sent`);
  }
}

function checkEnd(session: ReportedSession, final: Final, faults: FaultLog[], v: Verdict, say: (p: string) => void) {
  const where = `${session.id} (${session.by})`;
  if (!TERMINAL.has(final.status)) {
    v.stuck++;
    say(`${where}: still ${final.status} at the end`);
    return;
  }
  if (session.kind !== 'operation') {
    if (final.status !== 'complete') say(`${where}: its reporter completed it, but it ended ${final.status}`);
    return;
  }
  if (final.status === 'complete' && final.result === null) say(`${where}: complete with no result`);
  if (final.status === 'cancelled') say(`${where}: cancelled, though nobody cancelled it`);
  // An operation may fail only where a fault took its worker (or the store under it) away.
  if (final.status === 'error' && !faults.some((f) => WORKER_FAULTS.has(f.kind) && f.at >= session.startedAt)) {
    say(`${where}: ended error with no worker fault after it started: ${JSON.stringify(final.error)}`);
  }
}

function checkViewer(viewer: ViewerRecord, final: Final | null, v: Verdict, say: (p: string) => void): void {
  const where = `${viewer.name} (${viewer.kind}) on ${viewer.sessionId}`;
  if (!viewer.stayed || final === null) {
    say(`${where}: did not stay to the end: ${viewer.failure}`);
    return;
  }
  for (let i = 1; i < viewer.versions.length; i++) {
    if (viewer.versions[i]! < viewer.versions[i - 1]!) {
      v.outOfOrder++;
      say(`${where}: version ${viewer.versions[i]} came after ${viewer.versions[i - 1]}`);
    }
  }
  const received = new Map<number, number>();
  let last = 0;
  for (const entry of viewer.logs) {
    received.set(entry.seq, (received.get(entry.seq) ?? 0) + 1);
    if (entry.seq < last) {
      v.outOfOrder++;
      say(`${where}: log seq ${entry.seq} came after ${last}`);
    }
    last = Math.max(last, entry.seq);
  }
  for (const [seq, count] of received) {
    if (count > 1) {
      v.duplicated++;
      say(`${where}: log seq ${seq} received ${count} times`);
    }
  }
  for (const entry of final.logs) {
    const got = viewer.logs.find((l) => l.seq === entry.seq);
    if (!got) {
      v.lost++;
      say(`${where}: never received log seq ${entry.seq}`);
    } else if (got.line !== entry.line) say(`${where}: log seq ${entry.seq} was "${got.line}", not "${entry.line}"`);
  }
}
