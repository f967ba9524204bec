/**
 * Store traffic vs viewers: store reads per change with 1, 100 and 1,000
 * viewers of one session. Liveop runs on a counting store whose change
 * notifications do not carry the session (as Redis pub/sub sends them), so
 * every change costs the watcher a real read — what a multi-instance
 * deployment pays. With Redis reachable, also on the Redis store itself.
 * The baseline reads the cache on every poll of every stream.
 *
 * Reads per change = store reads while C changes are posted 150 ms apart and
 * delivered to every viewer, divided by C. Liveop's event route itself reads
 * once per post (to authorise the reporter); that read is included.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { openStream, RawConnection, requestBytes, type StreamHandle, targetOf, versionOf } from '../lib/raw-http.ts';
import { type Row, type ScenarioResult, sleep, waitUntil } from '../lib/report.ts';
import { ServerProcess, type ServerSpec } from '../lib/server-process.ts';
import { createSessions, reporterHeaders, stepsEvent, viewerHeaders } from '../lib/sessions.ts';
import { deletePrefix, redisAnswers } from './ingest.ts';

export interface StoreReadsOptions {
  viewers: number[];
  changes: number;
  redisUrl: string;
}

interface Point {
  viewers: number;
  readsPerChange: number;
  delivered: boolean;
  seconds: number;
}

async function measure(spec: ServerSpec, viewerCounts: number[], changes: number): Promise<Point[]> {
  const server = await ServerProcess.start(spec);
  const points: Point[] = [];
  try {
    for (const count of viewerCounts) {
      const [session] = await createSessions(server.url, 1);
      const last = new Int32Array(count);
      const handles: StreamHandle[] = [];
      try {
        for (let i = 0; i < count; i += 200) {
          for (let j = i; j < Math.min(count, i + 200); j++) {
            handles.push(
              openStream(session!.streamUrl, {
                headers: viewerHeaders(session!),
                onLine: (line) => {
                  const v = versionOf(line);
                  if (v > last[j]!) last[j] = v;
                },
              }),
            );
          }
          await waitUntil(() => last.subarray(i, Math.min(count, i + 200)).every((v) => v >= 1), 30_000, 20);
        }
        await sleep(300);
        const reporter = new RawConnection(targetOf(server.url));
        await reporter.ready;
        const before = (await server.stats()).reads;
        const started = performance.now();
        for (let k = 1; k <= changes; k++) {
          await reporter.request(
            requestBytes('POST', `${session!.snapshotUrl}/events`, reporterHeaders(session!), stepsEvent(k)),
          );
          await sleep(150); // past the throttle: each change is seen on its own
        }
        const delivered = await waitUntil(() => last.every((v) => v >= changes + 1), 30_000, 20);
        const reads = (await server.stats()).reads - before;
        reporter.close();
        points.push({
          viewers: count,
          readsPerChange: reads / changes,
          delivered,
          seconds: (performance.now() - started) / 1000,
        });
      } finally {
        for (const h of handles) h.close();
      }
      await sleep(500);
    }
    return points;
  } finally {
    await server.stop();
  }
}

export async function runStoreReads(o: StoreReadsOptions, log: (s: string) => void): Promise<ScenarioResult> {
  log('  Liveop (memory store, notifications without the session)…');
  const liveop = await measure({ kind: 'liveop', store: 'memory', countReads: true }, o.viewers, o.changes);
  log('  baseline…');
  const baseline = await measure({ kind: 'baseline' }, o.viewers, o.changes);
  let redis: Point[] | null = null;
  const notes: string[] = [];
  if (await redisAnswers(o.redisUrl)) {
    const prefix = `liveop-bench-${randomBytes(6).toString('hex')}`;
    log('  Liveop (Redis store)…');
    try {
      redis = await measure(
        { kind: 'liveop', store: 'redis', redisUrl: o.redisUrl, prefix, countReads: true },
        o.viewers,
        o.changes,
      );
    } finally {
      const deleted = await deletePrefix(o.redisUrl, prefix);
      notes.push(`Redis: prefix ${prefix}, ${deleted} keys deleted after the run`);
    }
  }
  const first = liveop[0]?.readsPerChange ?? Number.NaN;
  const flat = liveop.every((p) => Math.abs(p.readsPerChange - first) <= 0.5);
  const rows: Row[] = [];
  for (const [i, p] of liveop.entries()) {
    const b = baseline[i];
    rows.push({
      metric: `store reads per change, ${p.viewers.toLocaleString('en-US')} viewer${p.viewers === 1 ? '' : 's'}`,
      liveop: p.readsPerChange,
      baseline: b?.readsPerChange ?? null,
      better: 'lower',
      target: 'flat',
      met: flat,
    });
    const r = redis?.[i];
    if (r) rows.push({ metric: `  … on the Redis store`, liveop: r.readsPerChange });
  }
  const undelivered = [...liveop, ...(redis ?? [])].filter((p) => !p.delivered);
  notes.unshift(
    `${o.changes} changes 150 ms apart; every viewer must receive the last one: ` +
      (undelivered.length === 0 ? 'all did' : `NOT at ${undelivered.map((p) => p.viewers).join(', ')} viewers`),
    "Liveop's count includes the events route's own read (it authorises the reporter against the session)",
  );
  return {
    scenario: 'store-reads',
    params: { viewers: o.viewers.join('/'), changes: o.changes },
    rows,
    notes,
    data: { liveop, baseline, redis },
  };
}
