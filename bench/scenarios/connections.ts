/**
 * Connections: how many idle-but-live streams one instance holds, and the
 * server's RSS per stream, at 1k / 5k / 10k / 20k. The streams watch
 * sessions that are waiting for a worker (created, nothing reported): live,
 * with nothing to say. Clients run in several other processes (each process
 * may hold at most RLIMIT_NOFILE sockets), from 127.0.0.2… so the ephemeral
 * ports of one source address do not run out.
 *
 * RSS per stream = (RSS with N streams − RSS before the first step) / N,
 * both after a full GC in the server (also without the GC, as a process
 * would sit). The base is read after 500 streams were opened and closed, so
 * the stream path's one-time costs are not spread over the first step.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { CreatedSession } from '../../protocol/index.ts';
import type { ClientCommand, ClientReport } from '../lib/idle-clients.ts';
import { fmt, MB, type Row, type ScenarioResult, sleep } from '../lib/report.ts';
import { cpuPercent, forkTs, type ServerKind, ServerProcess, type StartOptions } from '../lib/server-process.ts';
import { createSessions, viewerHeaders } from '../lib/sessions.ts';

export interface ConnectionsOptions {
  steps: number[];
  /** The baseline polls every stream 10 times a second: it gets these steps only. */
  baselineSteps: number[];
  profileDir?: string;
}

/** Streams per client process. */
const PER_CLIENT = 5_000;
/** File descriptors the server keeps for itself (listen socket, IPC, epoll, stdio…). */
const FD_RESERVE = 64;
/** Streams opened and closed before the base RSS is read. */
const WARM_UP = 500;

interface Step {
  target: number;
  live: number;
  failed: number;
  openSeconds: number;
  rssMb: number;
  rssAfterGcMb: number;
  heapUsedMb: number;
  perStreamKb: number;
  perStreamNoGcKb: number;
  idleCpuPercent: number;
  linesPerSecond: number;
}

export interface ConnectionsRun {
  kind: ServerKind;
  nofile: number | null;
  baseRssMb: number;
  steps: Step[];
}

/** The soft RLIMIT_NOFILE of a process, from /proc (null elsewhere). */
function nofileOf(pid: number): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? null : Number(soft);
  } catch {
    return null;
  }
}

class ClientPool {
  readonly #child: ChildProcess;
  constructor(readonly localAddress: string) {
    this.#child = forkTs('./idle-clients.ts');
  }
  ask(command: ClientCommand, timeoutMs = 180_000): Promise<ClientReport> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`client ${this.localAddress}: no answer`)), timeoutMs);
      this.#child.once('message', (report: ClientReport) => {
        clearTimeout(timer);
        resolve(report);
      });
      this.#child.send(command);
    });
  }
  kill(): void {
    this.#child.kill('SIGKILL');
  }
}

async function measure(
  kind: ServerKind,
  steps: number[],
  o: ConnectionsOptions,
  log: (s: string) => void,
): Promise<ConnectionsRun> {
  const startOptions: StartOptions = o.profileDir ? { profileDir: o.profileDir } : {};
  const server = await ServerProcess.start({ kind }, startOptions);
  const nofile = nofileOf(server.pid);
  const max = Math.max(...steps);
  const clients = Array.from({ length: Math.ceil(max / PER_CLIENT) }, (_, i) => new ClientPool(`127.0.0.${2 + i}`));
  const assigned = new Array<number>(clients.length).fill(0);
  try {
    const sessions: CreatedSession[] = await createSessions(server.url, Math.ceil(max / 10));
    // Warm-up: open and close some streams first, so the one-time costs of the
    // stream path (its compiled code, the heap's first growth) are not counted
    // as the cost of each stream of the first step.
    const warm = new ClientPool('127.0.0.254');
    const warmStreams = Array.from({ length: WARM_UP }, (_, i) => sessions[i % sessions.length]!).map((s) => ({
      url: s.streamUrl,
      headers: viewerHeaders(s),
    }));
    await warm.ask({ type: 'open', streams: warmStreams, localAddress: warm.localAddress });
    await sleep(1_000);
    await warm.ask({ type: 'close' });
    await sleep(1_000);
    await server.gc();
    const base = await server.stats();
    const result: ConnectionsRun = { kind, nofile, baseRssMb: base.rss / MB, steps: [] };
    let opened = 0;
    for (const wanted of steps) {
      const target = nofile === null ? wanted : Math.min(wanted, nofile - FD_RESERVE);
      const started = performance.now();
      // Spread the new streams over the clients, each up to PER_CLIENT.
      const orders: Promise<ClientReport>[] = [];
      let next = opened;
      for (let c = 0; c < clients.length && next < target; c++) {
        const take = Math.min(PER_CLIENT - assigned[c]!, target - next);
        if (take <= 0) continue;
        const streams = Array.from({ length: take }, (_, i) => {
          const session = sessions[(next + i) % sessions.length]!;
          return { url: session.streamUrl, headers: viewerHeaders(session) };
        });
        assigned[c]! += take;
        next += take;
        orders.push(clients[c]!.ask({ type: 'open', streams, localAddress: clients[c]!.localAddress }));
      }
      await Promise.all(orders);
      const openSeconds = (performance.now() - started) / 1000;
      opened = target;
      await sleep(1_000);
      // Idle: server CPU and lines over a quiet window.
      const linesBefore = (await Promise.all(clients.map((c) => c.ask({ type: 'count' })))).reduce(
        (n, r) => n + r.lines,
        0,
      );
      const quietFrom = await server.stats();
      await sleep(3_000);
      const quietTo = await server.stats();
      const counts = await Promise.all(clients.map((c) => c.ask({ type: 'count' })));
      const live = counts.reduce((n, r) => n + r.live, 0);
      const failed = counts.reduce((n, r) => n + r.failed, 0);
      const lines = counts.reduce((n, r) => n + r.lines, 0) - linesBefore;
      await server.gc();
      const afterGc = await server.stats();
      const step: Step = {
        target,
        live,
        failed,
        openSeconds,
        rssMb: quietTo.rss / MB,
        rssAfterGcMb: afterGc.rss / MB,
        heapUsedMb: afterGc.heapUsed / MB,
        perStreamKb: live === 0 ? Number.NaN : (afterGc.rss - base.rss) / 1024 / live,
        perStreamNoGcKb: live === 0 ? Number.NaN : (quietTo.rss - base.rss) / 1024 / live,
        idleCpuPercent: cpuPercent(quietFrom, quietTo),
        linesPerSecond: lines / ((quietTo.at - quietFrom.at) / 1000),
      };
      result.steps.push(step);
      log(
        `  ${kind}: ${live.toLocaleString('en-US')}/${target.toLocaleString('en-US')} streams live ` +
          `(${failed} failed) in ${openSeconds.toFixed(1)} s; RSS ${fmt(step.rssAfterGcMb)} MB, ` +
          `${fmt(step.perStreamKb)} KB/stream, idle CPU ${fmt(step.idleCpuPercent)}%`,
      );
      if (live < target * 0.99) break; // it no longer keeps up: stop climbing
    }
    return result;
  } finally {
    await Promise.all(clients.map((c) => c.ask({ type: 'close' }, 10_000).catch(() => null)));
    for (const c of clients) c.kill();
    await server.stop();
  }
}

export async function runConnections(o: ConnectionsOptions, log: (s: string) => void): Promise<ScenarioResult> {
  const liveop = await measure('liveop', o.steps, o, log);
  await sleep(2_000);
  const baseline = await measure('baseline', o.baselineSteps, o, log);
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const step of liveop.steps) {
    const b = baseline.steps.find((s) => s.target === step.target);
    const n = step.target.toLocaleString('en-US');
    rows.push(
      {
        metric: `${n} streams: live`,
        liveop: step.live,
        baseline: b?.live ?? null,
        better: 'higher',
        ...(step.target >= 20_000 || step.target === Math.max(...liveop.steps.map((s) => s.target))
          ? { target: '20,000', met: step.live >= 20_000 }
          : {}),
      },
      {
        metric: `${n} streams: RSS per stream (KB, after GC)`,
        liveop: step.perStreamKb,
        baseline: b?.perStreamKb ?? null,
        better: 'lower',
        target: '≤ 20 KB',
        met: step.perStreamKb <= 20,
      },
      {
        metric: `${n} streams: RSS per stream (KB, no GC)`,
        liveop: step.perStreamNoGcKb,
        baseline: b?.perStreamNoGcKb ?? null,
        better: 'lower',
      },
      {
        metric: `${n} streams: server CPU idle (% of one core)`,
        liveop: step.idleCpuPercent,
        baseline: b?.idleCpuPercent ?? null,
        better: 'lower',
      },
      {
        metric: `${n} streams: time to open (s)`,
        liveop: step.openSeconds,
        baseline: b?.openSeconds ?? null,
        better: 'lower',
      },
    );
  }
  notes.push(
    `server RSS before the steps (after ${WARM_UP} streams were opened and closed, and a GC): ` +
      `Liveop ${fmt(liveop.baseRssMb)} MB, baseline ${fmt(baseline.baseRssMb)} MB; ` +
      `sessions: one per 10 streams, all waiting for a worker`,
  );
  if (liveop.nofile !== null && liveop.nofile - FD_RESERVE < Math.max(...o.steps)) {
    notes.push(
      `the server's RLIMIT_NOFILE is ${liveop.nofile.toLocaleString('en-US')} (the hard limit here; raising it needs ` +
        `CAP_SYS_RESOURCE): the top step is capped at ${(liveop.nofile - FD_RESERVE).toLocaleString('en-US')} streams`,
    );
  }
  const last = baseline.steps.at(-1);
  if (last) {
    notes.push(
      `baseline steps: ${o.baselineSteps.join(', ')} only (each stream is polled 10×/s: ` +
        `${fmt(last.linesPerSecond)} lines/s at ${last.target.toLocaleString('en-US')} idle streams)`,
    );
  }
  return {
    scenario: 'connections',
    params: { steps: o.steps.join('/'), baselineSteps: o.baselineSteps.join('/') },
    rows,
    notes,
    data: { liveop, baseline },
  };
}
