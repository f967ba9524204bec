/**
 * Parents over sockets: one parent with N children, reporters posting a
 * `percent` event per child at 2 Hz spread over the children (keep-alive
 * connections), 100 viewers streaming the parent (NDJSON over HTTP), on the
 * real server in its own process (memory store). In the same run, the same
 * load on N sessions without a parent, phases interleaved; the server's CPU
 * per event from its own `process.cpuUsage()` over IPC.
 *
 * - Delivered: with coalescing (a line at most `throttleHz` a second, the
 *   latest state always), every viewer must end on the parent's last
 *   version and never see a version lower than one it saw before.
 * - Latency: probes, 10 a second, timed from the post to each viewer's first
 *   line showing it. In a parent phase a probe completes one child (the
 *   parent's `children.complete` rises by one, probes go one at a time); in
 *   a phase without parents it is a post to one more session without a
 *   parent, watched by 100 viewers too: the fan-out's measure, same load.
 */
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { CreatedSession } from '../../protocol/index.ts';
import { machineBusyPercent, machineCpu } from '../lib/machine.ts';
import { PacedReportersProcess, type PacedSpec } from '../lib/paced-reporters-process.ts';
import {
  numberAfter,
  openStream,
  RawConnection,
  requestBytes,
  type StreamHandle,
  targetOf,
  versionOf,
} from '../lib/raw-http.ts';
import { latencyHistogram, type Row, type ScenarioResult, sleep, summarize, waitUntil } from '../lib/report.ts';
import { cpuPercent, ServerProcess, type StartOptions } from '../lib/server-process.ts';

export interface ParentsOptions {
  children: number;
  viewers: number;
  hz: number;
  /** Seconds of each measured phase. */
  seconds: number;
  /** Phases of each kind (with a parent, without), interleaved; figures are the median phase. */
  rounds: number;
  connections: number;
  profileDir?: string;
}

const PROBES_PER_SECOND = 10;
const JSON_HEADERS = { 'Content-Type': 'application/json' };

interface Watcher {
  handle: StreamHandle;
  last: number;
  lines: number;
  outOfOrder: number;
  /** Parent watchers: the highest `children.complete` seen. */
  complete: number;
}

interface Phase {
  kind: 'parent' | 'plain';
  events: number;
  errors: number;
  late: number;
  seconds: number;
  cpuMicros: number;
  serverCpuPercent: number;
  machineBusyPercent: number;
}

/** `children.complete` in a parent's snapshot line, read from the bytes (-1 without one). */
function completeOf(line: Buffer): number {
  const children = line.indexOf('"children":');
  return children < 0 ? -1 : numberAfter(line, '"complete":', children);
}

export async function runParents(o: ParentsOptions, log: (line: string) => void): Promise<ScenarioResult> {
  const loadBefore = loadavg();
  const startOptions: StartOptions = o.profileDir ? { profileDir: o.profileDir } : {};
  const server = await ServerProcess.start({ kind: 'liveop' }, startOptions);
  const target = targetOf(server.url);
  const pool = Array.from({ length: 32 }, () => new RawConnection(target));
  const watchers: Watcher[] = [];
  let reporters: PacedReportersProcess | undefined;
  const prober = new RawConnection(target);
  try {
    await Promise.all([...pool.map((c) => c.ready), prober.ready]);
    const create = async (connection: RawConnection, body: object, token?: string) => {
      const headers = token ? { ...JSON_HEADERS, Authorization: `Bearer ${token}` } : JSON_HEADERS;
      const answer = await connection.request(
        requestBytes('POST', `${server.url}/sessions`, headers, JSON.stringify(body)),
      );
      if (answer.status !== 201) throw new Error(`POST /sessions: ${answer.status} ${answer.body}`);
      return JSON.parse(answer.body.toString()) as CreatedSession;
    };
    const many = async (count: number, make: (connection: RawConnection, i: number) => Promise<CreatedSession>) => {
      const made = new Array<CreatedSession>(count);
      let next = 0;
      await Promise.all(
        pool.map(async (connection) => {
          for (let i = next++; i < count; i = next++) made[i] = await make(connection, i);
        }),
      );
      return made;
    };
    const parent = await create(pool[0]!, { title: 'Batch', expectedChildren: o.children });
    const probedPlain = await create(pool[0]!, { title: 'Probed' });
    const children = await many(o.children, (c, i) =>
      create(c, { title: `Child ${i}`, parent: parent.id }, parent.reporterToken),
    );
    const plain = await many(o.children, (c, i) => create(c, { title: `Plain ${i}` }));
    log(`  ${o.children} children of one parent and ${o.children} sessions without one created`);

    const parentWatchers: Watcher[] = [];
    const plainWatchers: Watcher[] = [];
    /** When each probe was posted, by the count it makes (children complete, or the probed session's version). */
    const parentProbeAt: number[] = [];
    const plainProbeAt: number[] = [];
    const parentLatency = latencyHistogram();
    const plainLatency = latencyHistogram();
    const watch = (
      session: CreatedSession,
      into: Watcher[],
      onLine: (w: Watcher, line: Buffer, at: number) => void,
    ) => {
      const watcher: Watcher = {
        handle: openStream(session.streamUrl, {
          headers: { Authorization: `Bearer ${session.viewerToken}` },
          onLine: (line) => onLine(watcher, line, performance.now()),
        }),
        last: 0,
        lines: 0,
        outOfOrder: 0,
        complete: 0,
      };
      into.push(watcher);
      watchers.push(watcher);
    };
    const seeVersion = (w: Watcher, line: Buffer) => {
      const v = versionOf(line);
      if (v < 0) return -1;
      w.lines += 1;
      if (v < w.last) w.outOfOrder += 1;
      w.last = Math.max(w.last, v);
      return v;
    };
    for (let i = 0; i < o.viewers; i++) {
      watch(parent, parentWatchers, (w, line, at) => {
        if (seeVersion(w, line) < 0) return;
        const complete = completeOf(line);
        for (let n = w.complete + 1; n <= complete; n++) {
          const sent = parentProbeAt[n];
          if (sent !== undefined) parentLatency.record(Math.max(1, Math.round((at - sent) * 1000)));
        }
        w.complete = Math.max(w.complete, complete);
      });
      watch(probedPlain, plainWatchers, (w, line, at) => {
        const before = w.last;
        const v = seeVersion(w, line);
        for (let n = before + 1; n <= v; n++) {
          const sent = plainProbeAt[n];
          if (sent !== undefined) plainLatency.record(Math.max(1, Math.round((at - sent) * 1000)));
        }
      });
    }
    await waitUntil(() => watchers.every((w) => w.lines > 0), 30_000);
    log(`  ${watchers.filter((w) => w.lines > 0).length} of ${watchers.length} viewers streaming`);

    // The first children are the probes (each completes once); the rest report, in a process of their own.
    const probeCount = Math.min(o.children - 1, Math.ceil(PROBES_PER_SECOND * o.seconds * o.rounds * 1.2));
    const specs = (sessions: CreatedSession[]): PacedSpec[] =>
      sessions.slice(probeCount).map((s) => ({
        url: `${s.snapshotUrl}/events`,
        headers: { ...JSON_HEADERS, Authorization: `Bearer ${s.reporterToken}` },
      }));
    const paced = await PacedReportersProcess.start(target, o.connections, {
      parent: specs(children),
      plain: specs(plain),
    });
    reporters = paced;
    let parentProbes = 0;
    let plainVersion = 1;
    const probe = async (kind: Phase['kind'], endAt: number) => {
      for (let k = 0; ; k++) {
        const due = performance.now() + 1000 / PROBES_PER_SECOND;
        if (due >= endAt || (kind === 'parent' && parentProbes >= probeCount)) return;
        await sleep(due - performance.now());
        let request: Buffer;
        if (kind === 'parent') {
          const child = children[parentProbes]!;
          const headers = { ...JSON_HEADERS, Authorization: `Bearer ${child.reporterToken}` };
          request = requestBytes('POST', `${child.snapshotUrl}/events`, headers, '[{"type":"complete","task":"main"}]');
          parentProbeAt[parentProbes + 1] = performance.now();
        } else {
          const headers = { ...JSON_HEADERS, Authorization: `Bearer ${probedPlain.reporterToken}` };
          request = requestBytes(
            'POST',
            `${probedPlain.snapshotUrl}/events`,
            headers,
            `[{"type":"log","line":"${k}"}]`,
          );
          plainProbeAt[plainVersion + 1] = performance.now();
        }
        const answer = await prober.request(request);
        if (answer.status !== 200) throw new Error(`probe: ${answer.status} ${answer.body}`);
        if (kind === 'parent') parentProbes += 1;
        else plainVersion += 1;
      }
    };

    const phase = async (kind: Phase['kind'], seconds: number, measured: boolean): Promise<Phase> => {
      const before = await server.stats();
      const machineBefore = machineCpu();
      if (measured) await server.profileStart();
      const endAt = performance.now() + seconds * 1000;
      const [run] = await Promise.all([
        paced.run(kind, o.hz, seconds),
        measured ? probe(kind, endAt) : Promise.resolve(),
      ]);
      const after = await server.stats();
      if (measured) await server.profileStop(`parents-${kind}`);
      const elapsed = (after.at - before.at) / 1000;
      const cpuMicros = after.cpuMicros - before.cpuMicros;
      log(
        `  ${kind === 'parent' ? 'with a parent   ' : 'without a parent'}: ${run.posted} events in ${elapsed.toFixed(1)} s, ${(cpuMicros / Math.max(1, run.posted)).toFixed(0)} µs server CPU each`,
      );
      return {
        kind,
        events: run.posted,
        errors: run.errors,
        late: run.late,
        seconds: elapsed,
        cpuMicros,
        serverCpuPercent: cpuPercent(before, after),
        machineBusyPercent: machineBusyPercent(machineBefore, machineCpu(), cpus().length),
      };
    };

    await phase('plain', Math.min(3, o.seconds), false); // warm-up: JIT, caches
    // The viewers' own event loop: its delays add to the latency measured.
    const clientLoop = monitorEventLoopDelay({ resolution: 5 });
    clientLoop.enable();
    const phases: Phase[] = [];
    for (let r = 0; r < o.rounds; r++) {
      phases.push(await phase('plain', o.seconds, true));
      phases.push(await phase('parent', o.seconds, true));
    }

    // Drain: every viewer of the parent on its last version.
    clientLoop.disable();
    // A fresh connection: the creation pool's have idled past the server's keep-alive timeout.
    const answer = await fetch(parent.snapshotUrl, { headers: { Authorization: `Bearer ${parent.viewerToken}` } });
    const last = ((await answer.json()) as { version: number }).version;
    await waitUntil(() => parentWatchers.every((w) => w.last >= last), 15_000, 50);
    const onLast = parentWatchers.filter((w) => w.last === last).length;
    const outOfOrder = parentWatchers.reduce((n, w) => n + w.outOfOrder, 0);
    const linesPerViewer = parentWatchers.reduce((n, w) => n + w.lines, 0) / Math.max(1, parentWatchers.length);

    const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    const of = (kind: Phase['kind']) => phases.filter((p) => p.kind === kind);
    const perEvent = (p: Phase) => p.cpuMicros / Math.max(1, p.events);
    const withParent = median(of('parent').map(perEvent));
    const without = median(of('plain').map(perEvent));
    const rate = (kind: Phase['kind']) => median(of(kind).map((p) => p.events / p.seconds));
    const ratio = withParent / without;
    const parentMs = summarize(parentLatency);
    const plainMs = summarize(plainLatency);
    const rows: Row[] = [
      {
        metric: `child events / s (due: ${o.children - probeCount} × ${o.hz} Hz)`,
        liveop: Math.round(rate('parent')),
        baseline: Math.round(rate('plain')),
        better: 'higher',
      },
      {
        metric: 'server CPU per event (µs)',
        liveop: Math.round(withParent),
        baseline: Math.round(without),
        better: 'lower',
      },
      {
        metric: 'with a parent ÷ without',
        liveop: Number(ratio.toFixed(2)),
        target: '≤ 1.5×',
        met: ratio <= 1.5,
      },
      {
        metric: `viewers of the parent on its last version (of ${o.viewers})`,
        liveop: onLast,
        target: `${o.viewers}, none out of order`,
        met: onLast === o.viewers && outOfOrder === 0,
      },
      { metric: 'lines out of order (all viewers)', liveop: outOfOrder },
      { metric: 'post→viewer p50 (ms)', liveop: parentMs.p50, baseline: plainMs.p50, better: 'lower' },
      {
        metric: 'post→viewer p99 (ms)',
        liveop: parentMs.p99,
        baseline: plainMs.p99,
        better: 'lower',
        target: '≤ 25 ms (fan-out)',
        met: parentMs.p99 <= 25,
      },
      { metric: 'post→viewer max (ms)', liveop: parentMs.max, baseline: plainMs.max, better: 'lower' },
      {
        metric: 'server CPU (% of one core)',
        liveop: median(of('parent').map((p) => p.serverCpuPercent)),
        baseline: median(of('plain').map((p) => p.serverCpuPercent)),
        better: 'none',
      },
    ];
    const loadAfter = loadavg();
    return {
      scenario: 'parents',
      params: { ...o, store: 'memory' },
      rows,
      notes: [
        '"Liveop" is a child event (its parent updated, 100 viewers streaming the parent); "baseline" the same ' +
          'event to a session without a parent, same run and server, phases interleaved; each figure the median phase.',
        `µs per event by phase (with / without a parent): ${of('parent')
          .map((p) => perEvent(p).toFixed(0))
          .join(', ')} / ` +
          `${of('plain')
            .map((p) => perEvent(p).toFixed(0))
            .join(', ')}; posts sent more than a period late: ` +
          `${of('parent').reduce((n, p) => n + p.late, 0)} / ${of('plain').reduce((n, p) => n + p.late, 0)}; errors ` +
          `${phases.reduce((n, p) => n + p.errors, 0)}`,
        `the parent's last version ${last}; ${linesPerViewer.toFixed(0)} lines per viewer of the parent (one per throttle ` +
          'tick at most: the versions between are folded into the next line, as the protocol says)',
        `latency: ${parentMs.count} probe sightings with a parent (a child completed, ${parentProbes} probes × viewers), ` +
          `${plainMs.count} without (a post to a session without a parent, also watched by ${o.viewers}); both include ` +
          'waiting behind the reporters’ posts on a saturated server, and the throttle (a line at most every 100 ms per stream)',
        `the viewers' process (reporters in another): event-loop delay p99 ${(clientLoop.percentile(99) / 1e6).toFixed(0)} ms, ` +
          `max ${(clientLoop.max / 1e6).toFixed(0)} ms (5 ms resolution): it adds to the latency measured`,
        `machine busy during the phases (% of one core, ${cpus().length} cores, all processes): ` +
          `${phases.map((p) => p.machineBusyPercent.toFixed(0)).join(', ')}; load average before ${loadBefore
            .map((l) => l.toFixed(1))
            .join(' ')}, after ${loadAfter.map((l) => l.toFixed(1)).join(' ')}`,
      ],
      data: { phases, parentMs, plainMs, last, outOfOrder, linesPerViewer, probeCount },
    };
  } finally {
    for (const w of watchers) w.handle.close();
    for (const c of pool) c.close();
    reporters?.stop();
    prober.close();
    await server.stop();
  }
}
