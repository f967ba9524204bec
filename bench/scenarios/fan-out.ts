/**
 * Fan-out: S sessions × V viewers streaming, one reporter per session posting
 * at R Hz. Measures post→line latency at the viewers (the reporter's send to
 * the first line carrying that version, same process, same clock),
 * deliveries vs expected, server CPU and RSS, lines and bytes a second.
 *
 * A delivery is one viewer receiving one posted version exactly; a version
 * folded into a later line (throttled, or a slow reader catching up) counts
 * as not delivered, even though the viewer got the newer state.
 */
import { cpus } from 'node:os';
import { monitorEventLoopDelay, performance, type RecordableHistogram } from 'node:perf_hooks';
import type { CreatedSession } from '../../protocol/index.ts';
import { type CpuSample, machineBusyPercent, machineCpu } from '../lib/machine.ts';
import { openStream, RawConnection, requestBytes, type StreamHandle, targetOf, versionOf } from '../lib/raw-http.ts';
import { latencyHistogram, MB, type Row, type ScenarioResult, sleep, summarize, waitUntil } from '../lib/report.ts';
import {
  cpuPercent,
  gcPercent,
  type ServerKind,
  ServerProcess,
  type ServerStats,
  type StartOptions,
} from '../lib/server-process.ts';
import { createSessions, reporterHeaders, stepsEvent, viewerHeaders } from '../lib/sessions.ts';

export interface FanOutOptions {
  sessions: number;
  viewers: number;
  hz: number;
  seconds: number;
  /** How long to wait for the last lines after the last post. */
  drainSeconds: number;
  /** Posting before the measurement starts (JIT, caches). @default 2 */
  warmupSeconds?: number;
  /**
   * The seeds' design to compare with: `polling` on bare node:http
   * (bench/baseline/polling.ts) or `baseline`, the same on Hono
   * (bench/baseline/server.ts). @default 'polling'
   */
  baseline?: 'polling' | 'baseline';
  profileDir?: string;
  /** A checkout of an earlier Liveop (with node_modules): its server is measured instead of this one's. */
  root?: string;
}

const LOOP_RESOLUTION_MS = 5;

interface Viewer {
  session: number;
  last: number;
  handle: StreamHandle | null;
  ended: boolean;
}

export interface FanOutRun {
  kind: ServerKind;
  viewersOpen: number;
  viewersEnded: number;
  posted: number;
  postErrors: number;
  postsLate: number;
  expected: number;
  delivered: number;
  folded: number;
  finalDelivered: number;
  latencyMs: ReturnType<typeof summarize>;
  postAnswerMs: ReturnType<typeof summarize>;
  serverCpuPercent: number;
  machineBusyPercent: number;
  serverGcPercent: number;
  serverGcMaxPauseMs: number;
  serverLoopDelayP99Ms: number;
  serverLoopDelayMaxMs: number;
  serverRssMb: number;
  linesPerSecond: number;
  bytesPerSecond: number;
  clientLoopDelayP99Ms: number;
  clientLoopDelayMaxMs: number;
  clientCpuPercent: number;
  openSeconds: number;
  profile: string | null;
  p99BySecondMs: (number | null)[];
}

export async function measureOne(kind: ServerKind, o: FanOutOptions, log: (s: string) => void): Promise<FanOutRun> {
  const startOptions: StartOptions = {
    ...(o.profileDir ? { profileDir: o.profileDir } : {}),
    ...(o.root ? { root: o.root } : {}),
  };
  const server = await ServerProcess.start({ kind }, startOptions);
  const viewers: Viewer[] = [];
  const reporters: RawConnection[] = [];
  try {
    const sessions = await createSessions(server.url, o.sessions);
    const warmup = o.warmupSeconds ?? 2;
    const maxUpdates = Math.ceil(o.hz * (o.seconds + warmup)) + 2;
    const sentAt = sessions.map(() => new Float64Array(maxUpdates + 3).fill(Number.NaN));
    const latency = latencyHistogram();
    /** Latency by the second the update was posted in: shows stalls and warm-up. */
    const perSecond: RecordableHistogram[] = [];
    const postAnswer = latencyHistogram();
    let measuring = false;
    let measureFrom = Number.POSITIVE_INFINITY;
    /** Per session, the first version posted inside the measured window. */
    const firstMeasured = new Int32Array(sessions.length).fill(1 << 30);
    let lines = 0;
    let bytes = 0;
    let delivered = 0;
    let folded = 0;

    const onLine = (viewer: Viewer) => (line: Buffer) => {
      const now = performance.now();
      lines += 1;
      bytes += line.length + 1;
      const v = versionOf(line);
      if (v <= viewer.last) return;
      const t = sentAt[viewer.session]![v];
      if (measuring && t !== undefined && t >= measureFrom) {
        folded += Math.max(0, v - Math.max(viewer.last, firstMeasured[viewer.session]! - 1) - 1);
        const micros = Math.max(1, Math.round((now - t) * 1000));
        latency.record(micros);
        const second = Math.floor((t - measureFrom) / 1000);
        let bucket = perSecond[second];
        if (!bucket) {
          bucket = latencyHistogram();
          perSecond[second] = bucket;
        }
        bucket.record(micros);
        delivered += 1;
      }
      viewer.last = v;
    };

    // Open the viewers, a few hundred at a time (the listen backlog is finite).
    const openStarted = performance.now();
    const deadline = Date.now() + 45_000;
    for (let i = 0; i < o.viewers && Date.now() < deadline; i += 250) {
      const batch: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(o.viewers, i + 250); j++) {
        const viewer: Viewer = { session: j % sessions.length, last: 0, handle: null, ended: false };
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
    const openSeconds = (performance.now() - openStarted) / 1000;
    log(`  ${kind}: ${viewersOpen}/${o.viewers} viewers streaming after ${openSeconds.toFixed(1)} s; posting…`);

    // Reporters: one keep-alive connection each, evenly staggered, posting at hz.
    const target = targetOf(server.url);
    for (let s = 0; s < sessions.length; s++) reporters.push(new RawConnection(target));
    await Promise.all(reporters.map((r) => r.ready));
    const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    const periodMs = 1000 / o.hz;
    const started = performance.now();
    measureFrom = started + warmup * 1000;
    const endAt = measureFrom + o.seconds * 1000;
    measuring = true;
    let before: ServerStats | undefined;
    let machineBefore: CpuSample | null = null;
    let clientCpuBefore = process.cpuUsage();
    const startMeasuring = sleep(warmup * 1000).then(async () => {
      lines = 0;
      bytes = 0;
      loopDelay.enable();
      await server.profileStart();
      before = await server.stats(true);
      machineBefore = machineCpu();
      clientCpuBefore = process.cpuUsage();
    });
    let posted = 0;
    let postErrors = 0;
    let postsLate = 0;
    const postedBy = new Int32Array(sessions.length);
    const reporter = async (s: number, session: CreatedSession) => {
      const connection = reporters[s]!;
      const headers = reporterHeaders(session);
      const url = `${session.snapshotUrl}/events`;
      for (let k = 0; ; k++) {
        const at = started + (s / sessions.length) * periodMs + k * periodMs;
        if (at >= endAt) return;
        const wait = at - performance.now();
        if (wait > 0) await sleep(wait);
        else if (wait < -periodMs) postsLate += 1;
        const version = k + 2;
        const sent = performance.now();
        sentAt[s]![version] = sent;
        if (sent >= measureFrom && version < firstMeasured[s]!) firstMeasured[s] = version;
        try {
          const answer = await connection.request(requestBytes('POST', url, headers, stepsEvent(k + 1)));
          postAnswer.record(Math.max(1, Math.round((performance.now() - sent) * 1000)));
          if (answer.status !== 200) postErrors += 1;
          else {
            posted += 1;
            postedBy[s] = version;
          }
        } catch {
          postErrors += 1;
          return;
        }
      }
    };
    // A saturated server may hold a post for long: stop waiting 10 s after the last was due.
    await Promise.race([
      Promise.all(sessions.map((session, s) => reporter(s, session))),
      sleep(endAt - performance.now() + 10_000),
    ]);
    await startMeasuring;
    const after = await server.stats();
    const machineAfter = machineCpu();
    const profile = await server.profileStop(`fan-out-${kind}`);
    const elapsed = (performance.now() - measureFrom) / 1000;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const clientCpuPercent = ((clientCpu.user + clientCpu.system) / 1e6 / elapsed) * 100;
    const linesPerSecond = lines / elapsed;
    const bytesPerSecond = bytes / elapsed;
    loopDelay.disable();

    // Drain: wait for every viewer to have its session's last version.
    await waitUntil(() => viewers.every((v) => v.ended || v.last >= postedBy[v.session]!), o.drainSeconds * 1000, 100);
    measuring = false;
    const expected = viewers.reduce((n, v) => n + Math.max(0, postedBy[v.session]! - firstMeasured[v.session]! + 1), 0);
    const finalDelivered = viewers.filter((v) => v.last >= postedBy[v.session]!).length;
    return {
      kind,
      viewersOpen,
      viewersEnded: viewers.filter((v) => v.ended).length,
      posted,
      postErrors,
      postsLate,
      expected,
      delivered,
      folded,
      finalDelivered,
      latencyMs: summarize(latency),
      postAnswerMs: summarize(postAnswer),
      serverCpuPercent: cpuPercent(before!, after),
      machineBusyPercent: machineBusyPercent(machineBefore, machineAfter, cpus().length),
      serverGcPercent: gcPercent(before!, after),
      serverGcMaxPauseMs: after.gcMaxPauseMs,
      serverLoopDelayP99Ms: after.loopDelayP99Ms,
      serverLoopDelayMaxMs: after.loopDelayMaxMs,
      serverRssMb: after.rss / MB,
      linesPerSecond,
      bytesPerSecond,
      // The histogram records whole timer intervals: take the resolution off.
      clientCpuPercent,
      clientLoopDelayP99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
      clientLoopDelayMaxMs: Math.max(0, loopDelay.max / 1e6 - LOOP_RESOLUTION_MS),
      openSeconds,
      profile,
      p99BySecondMs: Array.from(perSecond, (h) => (h ? Math.round(h.percentile(99) / 100) / 10 : null)),
    };
  } finally {
    for (const v of viewers) v.handle?.close();
    for (const r of reporters) r.close();
    await server.stop();
  }
}

export async function runFanOut(o: FanOutOptions, log: (s: string) => void): Promise<ScenarioResult> {
  const liveop = await measureOne('liveop', o, log);
  await sleep(1_000);
  const baseline = await measureOne(o.baseline ?? 'polling', o, log);
  const pct = (r: FanOutRun) => (r.expected === 0 ? 0 : (r.delivered / r.expected) * 100);
  const rows: Row[] = [
    {
      metric: 'updates delivered (% of expected)',
      liveop: pct(liveop),
      baseline: pct(baseline),
      better: 'higher',
      target: '100%',
      met: liveop.expected > 0 && liveop.delivered === liveop.expected,
    },
    {
      metric: 'viewers with the final state',
      liveop: liveop.finalDelivered,
      baseline: baseline.finalDelivered,
      better: 'higher',
    },
    {
      metric: 'post→line p50 (ms)',
      liveop: liveop.latencyMs.p50,
      baseline: baseline.latencyMs.p50,
      better: 'lower',
    },
    {
      metric: 'post→line p99 (ms)',
      liveop: liveop.latencyMs.p99,
      baseline: baseline.latencyMs.p99,
      better: 'lower',
      target: '≤ 25 ms',
      met: liveop.latencyMs.p99 <= 25,
    },
    {
      metric: 'post→line max (ms)',
      liveop: liveop.latencyMs.max,
      baseline: baseline.latencyMs.max,
      better: 'lower',
    },
    {
      metric: 'event post answer p99 (ms)',
      liveop: liveop.postAnswerMs.p99,
      baseline: baseline.postAnswerMs.p99,
      better: 'lower',
    },
    {
      metric: 'server CPU (% of one core)',
      liveop: liveop.serverCpuPercent,
      baseline: baseline.serverCpuPercent,
      better: 'lower',
    },
    { metric: 'server RSS (MB)', liveop: liveop.serverRssMb, baseline: baseline.serverRssMb, better: 'lower' },
    { metric: 'lines / s', liveop: liveop.linesPerSecond, baseline: baseline.linesPerSecond, better: 'none' },
    {
      metric: 'MB / s sent',
      liveop: liveop.bytesPerSecond / MB,
      baseline: baseline.bytesPerSecond / MB,
      better: 'none',
    },
  ];
  const notes = [
    `viewers streaming: Liveop ${liveop.viewersOpen}, baseline ${baseline.viewersOpen} of ${o.viewers}; ` +
      `posts: Liveop ${liveop.posted} (${liveop.postErrors} failed, ${liveop.postsLate} late), ` +
      `baseline ${baseline.posted} (${baseline.postErrors} failed, ${baseline.postsLate} late)`,
    `deliveries: Liveop ${liveop.delivered}/${liveop.expected} (${liveop.folded} folded into a later line), ` +
      `baseline ${baseline.delivered}/${baseline.expected} (${baseline.folded} folded)`,
    `load generator (this process): CPU ${liveop.clientCpuPercent.toFixed(0)}% / ${baseline.clientCpuPercent.toFixed(0)}%, ` +
      `event-loop delay p99 ${liveop.clientLoopDelayP99Ms.toFixed(1)} / ${baseline.clientLoopDelayP99Ms.toFixed(1)} ms, ` +
      `max ${liveop.clientLoopDelayMaxMs.toFixed(0)} / ${baseline.clientLoopDelayMaxMs.toFixed(0)} ms ` +
      '(Liveop run / baseline run; it adds to the measured latency)',
  ];
  notes.push(
    `server stalls (Liveop / baseline): event-loop delay p99 ${liveop.serverLoopDelayP99Ms.toFixed(0)} / ` +
      `${baseline.serverLoopDelayP99Ms.toFixed(0)} ms, max ${liveop.serverLoopDelayMaxMs.toFixed(0)} / ` +
      `${baseline.serverLoopDelayMaxMs.toFixed(0)} ms; GC ${liveop.serverGcPercent.toFixed(1)} / ` +
      `${baseline.serverGcPercent.toFixed(1)}% of the time, longest pause ${liveop.serverGcMaxPauseMs.toFixed(0)} / ` +
      `${baseline.serverGcMaxPauseMs.toFixed(0)} ms`,
    `machine busy (all processes, % of one core, ${cpus().length} cores): Liveop run ` +
      `${liveop.machineBusyPercent.toFixed(0)}%, baseline run ${baseline.machineBusyPercent.toFixed(0)}%`,
    `Liveop post→line p99 by second of the run (ms): ${liveop.p99BySecondMs.map((v) => v ?? '—').join(' ')}`,
  );
  for (const run of [liveop, baseline]) {
    if (run.posted === 0) {
      notes.push(
        `${run.kind}: no event post was answered within 10 s of the last one due — the server's event loop ` +
          'spent its turns on stream timers and writes, and the reporters’ requests starved',
      );
    }
  }
  if (liveop.viewersOpen < o.viewers) notes.push(`Liveop: only ${liveop.viewersOpen} viewers connected`);
  return {
    scenario: 'fan-out',
    params: {
      sessions: o.sessions,
      viewers: o.viewers,
      hz: o.hz,
      seconds: o.seconds,
      baseline: o.baseline === 'baseline' ? 'Hono polling' : 'node:http polling',
    },
    rows,
    notes,
    data: { liveop, baseline },
  };
}
