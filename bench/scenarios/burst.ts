/**
 * Burst: V viewers on S sessions, and every session's reporter posting
 * (`steps` + `message`, one batch) in the same tick, R times a second — a
 * nightly batch updating all its imports at once. Three servers, in
 * interleaved rounds (Liveop, the seeds' polling design on bare node:http,
 * the floor; then again), each figure the median of its rounds:
 *
 * - post→line latency at the viewers (the reporter's send to the first line
 *   carrying that version, one process, one clock) and the share delivered;
 * - the event post's answer time in the burst (posts wait behind fan-out),
 *   at the reporters, which run in a process of their own
 *   (bench/lib/burst-reporters.ts) so the viewers' reading does not delay it;
 * - server CPU per delivered line: the server's CPU time in the measured
 *   window over the lines its viewers received. The floor (bench/baseline/
 *   floor.ts) writes a copy of the line Liveop sent in the same round to the
 *   same number of streams: the least a server can spend per line here,
 *   and the earliest it can deliver them; `floor-answer` is the same server
 *   answering the posts and writing no line: the earliest the burst can be
 *   answered here at all, and `hono-answer` a Hono app doing the same: how
 *   much of the answer time is the framework. A target a floor misses too is marked so, and a
 *   target set against a baseline that did not carry the whole load (viewers
 *   not all streaming, posts skipped) is not judged.
 */
import { cpus, setPriority } from 'node:os';
import { monitorEventLoopDelay, performance, type RecordableHistogram } from 'node:perf_hooks';
import { clock, type ReportersCommand, type ReportersReport } from '../lib/burst-reporters.ts';
import { machineBusyPercent, machineCpu } from '../lib/machine.ts';
import { openStream, type StreamHandle, targetOf, versionOf } from '../lib/raw-http.ts';
import { latencyHistogram, MB, type ScenarioResult, sleep, summarize, waitUntil } from '../lib/report.ts';
import { forkTs, gcPercent, type ServerKind, ServerProcess } from '../lib/server-process.ts';
import { createSessions, reporterHeaders, viewerHeaders } from '../lib/sessions.ts';
import { burstResult } from './burst-report.ts';

/**
 * `floor` writes each post's lines in its handler; `floor-answer` answers the
 * posts and writes no line; `hono-answer` does that as a Hono app.
 */
export type BurstKind = 'liveop' | 'polling' | 'floor' | 'floor-answer' | 'hono-answer' | 'before';

export interface BurstOptions {
  sessions: number;
  viewers: number;
  hz: number;
  seconds: number;
  rounds: number;
  kinds: BurstKind[];
  /** A checkout of an earlier Liveop (with node_modules): runs as `before`, for A/B. */
  compareRoot?: string;
  drainSeconds?: number;
  /** Bursts before the measurement starts (JIT, caches). @default 5 */
  warmupSeconds?: number;
  profileDir?: string;
}

const LOOP_RESOLUTION_MS = 5;

interface Viewer {
  session: number;
  last: number;
  /** When each version first arrived (clock()), by version. */
  arrivals: Float64Array;
  handle: StreamHandle | null;
  ended: boolean;
}

export interface BurstRun {
  kind: BurstKind;
  round: number;
  viewersOpen: number;
  posted: number;
  postErrors: number;
  /** Bursts in which a reporter still waited for its last answer, so it sent nothing. */
  postsSkipped: number;
  expected: number;
  delivered: number;
  folded: number;
  finalDelivered: number;
  latencyMs: ReturnType<typeof summarize>;
  postAnswerMs: ReturnType<typeof summarize>;
  lines: number;
  cpuPerLineMicros: number;
  /** The share of the server's CPU spent in the kernel (%). */
  serverSystemPercent: number;
  serverCpuPercent: number;
  machineBusyPercent: number;
  serverGcPercent: number;
  serverGcMaxPauseMs: number;
  serverLoopDelayP99Ms: number;
  serverLoopDelayMaxMs: number;
  serverPostAnswerP99Ms: number;
  serverBurstAnswerP99Ms: number;
  serverBurstArrivalP99Ms: number;
  serverRssMb: number;
  linesPerSecond: number;
  lineBytes: number;
  clientLoopDelayP99Ms: number;
  profile: string | null;
  p99BySecondMs: (number | null)[];
  /** A line Liveop sent in the measured window, made a template for the floor. */
  template: string | null;
}

const SERVER_KIND: Record<BurstKind, ServerKind> = {
  liveop: 'liveop',
  before: 'liveop',
  polling: 'polling',
  floor: 'floor',
  'floor-answer': 'floor',
  'hono-answer': 'hono-floor',
};

/** Runs the reporters' process once; resolves with its report. */
function runReporters(command: ReportersCommand): Promise<ReportersReport> {
  const child = forkTs('./burst-reporters.ts', { env: { BENCH_REPORTERS: '1' } });
  // Ahead of the viewers' process on a busy core, so an answer is timed when it
  // arrives rather than when the reporters next get the CPU (needs privileges).
  try {
    if (child.pid !== undefined) setPriority(child.pid, -10);
  } catch {
    // not allowed here: the answers' times include the reporters' own waits
  }
  return new Promise<ReportersReport>((resolve, reject) => {
    child.once('message', (report: ReportersReport) => resolve(report));
    child.once('exit', (code) => reject(new Error(`the reporters' process exited with ${code}`)));
    child.send(command);
  }).finally(() => child.kill());
}

export async function measureBurst(
  kind: BurstKind,
  round: number,
  o: BurstOptions,
  log: (s: string) => void,
  template?: string,
): Promise<BurstRun> {
  const server = await ServerProcess.start(
    {
      kind: SERVER_KIND[kind],
      timePosts: true,
      ...(SERVER_KIND[kind] === 'floor' && template ? { lineTemplate: template } : {}),
      ...(kind === 'floor-answer' ? { writeLines: false } : {}),
    },
    {
      ...(o.profileDir ? { profileDir: o.profileDir } : {}),
      ...(kind === 'before' && o.compareRoot ? { root: o.compareRoot } : {}),
    },
  );
  const viewers: Viewer[] = [];
  try {
    const sessions = await createSessions(server.url, o.sessions);
    // The first ~10 bursts after a start are slower while V8 optimises the
    // post and fan-out paths (a burst's last answer at 50–230 ms, then 15–40).
    const warmup = o.warmupSeconds ?? 5;
    const maxVersion = Math.ceil(o.hz * (o.seconds + warmup)) + 4;
    let measureFrom = Number.POSITIVE_INFINITY;
    let lines = 0;
    let bytes = 0;
    let captured: string | null = null;

    const onLine = (viewer: Viewer) => (line: Buffer) => {
      lines += 1;
      bytes += line.length + 1;
      const v = versionOf(line);
      if (v <= viewer.last) return;
      const now = clock();
      if (v < viewer.arrivals.length) viewer.arrivals[v] = now;
      if (captured === null && now >= measureFrom) captured = line.toString();
      viewer.last = v;
    };

    const openStarted = performance.now();
    const deadline = Date.now() + 45_000;
    for (let i = 0; i < o.viewers && Date.now() < deadline; i += 250) {
      const batch: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(o.viewers, i + 250); j++) {
        const viewer: Viewer = {
          session: j % sessions.length,
          last: 0,
          arrivals: new Float64Array(maxVersion + 1).fill(Number.NaN),
          handle: null,
          ended: false,
        };
        const session = sessions[viewer.session]!;
        viewer.handle = openStream(session.streamUrl, {
          headers: viewerHeaders(session),
          onLine: onLine(viewer),
          onEnd: () => {
            viewer.ended = true;
          },
        });
        viewers.push(viewer);
        batch.push(viewer.handle.status.catch(() => 0));
      }
      await Promise.race([Promise.all(batch), sleep(Math.max(0, deadline - Date.now()))]);
    }
    await waitUntil(() => viewers.every((v) => v.last >= 1 || v.ended), Math.max(5_000, deadline - Date.now()));
    const viewersOpen = viewers.filter((v) => v.last >= 1 && !v.ended).length;
    log(
      `  ${kind} (round ${round}): ${viewersOpen}/${o.viewers} viewers streaming after ` +
        `${((performance.now() - openStarted) / 1000).toFixed(1)} s; bursts of ${sessions.length} posts…`,
    );

    const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    const startAt = clock() + 500; // the reporters' connections open first
    measureFrom = startAt + warmup * 1000;
    const endAt = measureFrom + o.seconds * 1000;
    const reporting = runReporters({
      type: 'run',
      target: targetOf(server.url),
      requests: sessions.map((session) => ({
        url: `${session.snapshotUrl}/events`,
        headers: reporterHeaders(session),
      })),
      hz: o.hz,
      startAt,
      measureFrom,
      endAt,
    });
    await sleep(measureFrom - clock());
    lines = 0;
    bytes = 0;
    loopDelay.enable();
    await server.profileStart();
    const before = await server.stats(true);
    const machineBefore = machineCpu();
    await sleep(endAt - clock() + 200); // the last burst's fan-out
    const after = await server.stats();
    const machineAfter = machineCpu();
    const profile = await server.profileStop(`burst-${kind}`);
    const windowLines = lines;
    const windowBytes = bytes;
    loopDelay.disable();
    const report = await reporting;
    const { sentAt, postedBy } = report;
    // floor-answer writes no lines: nothing to wait for, nothing to count as delivered.
    const writesLines = kind !== 'floor-answer' && kind !== 'hono-answer';
    await waitUntil(
      () => !writesLines || viewers.every((v) => v.ended || v.last >= postedBy[v.session]!),
      (o.drainSeconds ?? 10) * 1000,
      100,
    );

    // Latency of each version each viewer got, from the post that made it; the rest were folded.
    const latency = latencyHistogram();
    const perSecond: RecordableHistogram[] = [];
    let expected = 0;
    let delivered = 0;
    for (const viewer of viewers) {
      const sent = sentAt[viewer.session]!;
      for (let v = 2; v <= postedBy[viewer.session]!; v++) {
        const t = sent[v];
        if (!writesLines || t === null || t === undefined || t < measureFrom) continue;
        expected += 1;
        const arrived = viewer.arrivals[v]!;
        if (Number.isNaN(arrived)) continue;
        delivered += 1;
        const micros = Math.max(1, Math.round((arrived - t) * 1000));
        latency.record(micros);
        const second = Math.floor((t - measureFrom) / 1000);
        perSecond[second] ??= latencyHistogram();
        perSecond[second].record(micros);
      }
    }
    const answers = latencyHistogram();
    for (const micros of report.answerMicros) answers.record(micros);
    const cpuMicros = after.cpuMicros - before.cpuMicros;
    const elapsedMs = after.at - before.at;
    const capturedLine = captured as string | null;
    return {
      kind,
      round,
      viewersOpen,
      posted: report.posted,
      postErrors: report.errors,
      postsSkipped: report.skipped,
      expected,
      delivered,
      folded: expected - delivered,
      finalDelivered: viewers.filter((v) => v.last >= postedBy[v.session]!).length,
      latencyMs: summarize(latency),
      postAnswerMs: summarize(answers),
      lines: windowLines,
      cpuPerLineMicros: windowLines === 0 ? Number.NaN : cpuMicros / windowLines,
      serverSystemPercent: ((after.cpuSystemMicros - before.cpuSystemMicros) / cpuMicros) * 100,
      serverCpuPercent: (cpuMicros / 1000 / elapsedMs) * 100,
      machineBusyPercent: machineBusyPercent(machineBefore, machineAfter, cpus().length),
      serverGcPercent: gcPercent(before, after),
      serverGcMaxPauseMs: after.gcMaxPauseMs,
      serverLoopDelayP99Ms: after.loopDelayP99Ms,
      serverLoopDelayMaxMs: after.loopDelayMaxMs,
      serverPostAnswerP99Ms: after.postAnswerP99Ms,
      serverBurstAnswerP99Ms: after.burstAnswerP99Ms,
      serverBurstArrivalP99Ms: after.burstArrivalP99Ms,
      serverRssMb: after.rss / MB,
      linesPerSecond: windowLines / (elapsedMs / 1000),
      lineBytes: windowLines === 0 ? 0 : windowBytes / windowLines,
      clientLoopDelayP99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
      profile,
      p99BySecondMs: Array.from(perSecond, (h) => (h ? Math.round(h.percentile(99) / 100) / 10 : null)),
      template: capturedLine === null ? null : templateOf(capturedLine, sessions),
    };
  } finally {
    for (const v of viewers) v.handle?.close();
    await server.stop();
  }
}

/** A captured line with its session id and version made placeholders. */
function templateOf(line: string, sessions: { id: string }[]): string {
  const session = sessions.find((s) => line.includes(s.id));
  const withId = session ? line.replaceAll(session.id, '{{id}}') : line;
  return withId.replace(/"version":\d+/, '"version":{{version}}');
}

export async function runBurst(o: BurstOptions, log: (s: string) => void): Promise<ScenarioResult> {
  const runs: BurstRun[] = [];
  let template: string | undefined;
  for (let round = 1; round <= o.rounds; round++) {
    for (const kind of o.kinds) {
      const run = await measureBurst(kind, round, o, log, template);
      if (kind === 'liveop' && run.template) template = run.template;
      runs.push(run);
      await sleep(1_000);
    }
  }
  return burstResult(runs, o);
}
