/**
 * Slow and idle readers against the built server in its own process: 500
 * connections ask for a session's stream and never read a byte while the
 * session logs 10 MB. The server's memory must stay bounded (a stuck reader
 * holds a "pending" flag and its socket's buffers, never a queue of lines),
 * a viewer that does read must get every line in order, on time, and the
 * stuck connections must be closed once `stuckStreamMs` passes.
 *
 * Linux only (the server's RSS is read from /proc); elsewhere skipped, saying so.
 *
 * A soak test, run by `npm run test:soak` (as CI does), not `npm test`: it
 * paces 10 MB over ~20 s so the reader loses no line, then waits out the
 * 40 s deadline — a minute that no clock can shorten (the stuck timer is the
 * built server's, in its own process), and a smaller log would not fill the
 * stuck sockets' buffers, so they would never count as stuck.
 */
import { existsSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot } from '../../../protocol/index.ts';
import { bearer, openStream, post } from '../../support/ndjson-client.ts';
import { SOAK } from '../../support/soak.ts';
import { type SpawnedServer, spawnServer } from '../../support/spawned-server.ts';

const STUCK = 500;
/** Past the posting (~20 s), so what is measured is the stuck connections' worst. */
const STUCK_MS = 40_000;
const LINE = 2_000; // characters, the longest log line allowed
const LINES_PER_POST = 50;
const POSTS = 100; // 100 × 50 × 2,000 = 10 MB of log
/**
 * Between posts: 10 MB in about 20 s, 250 lines a second, so the newest 1,000 lines a
 * session keeps are 4 s of log — a reader further behind than that loses lines by design.
 * (At 100 ms, 2 s of log, the reader's lag beside the rest of the suite on 2 cores reached
 * past it once and lost 100 lines.)
 */
const PACE_MS = 200;
const onLinux = existsSync('/proc/self/status');

/** The process's resident set, in MB. */
function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) / 1024;
}

if (!SOAK) console.warn('skipped: the slow-readers soak test (npm run test:soak runs it)');

describe.skipIf(!onLinux || !SOAK)('readers that never read (needs /proc: Linux; npm run test:soak)', () => {
  let server: SpawnedServer;
  let session: CreatedSession;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    server = await spawnServer({
      // The streams' opening rate raised so the 500 open at once; the deadline shortened for the test.
      LIVEOP_RATE_LIMITS: 'streams=1000/1',
      LIVEOP_CAPS: `stuckStreamMs=${STUCK_MS}`,
    });
    expect(server.alive(), server.output()).toBe(true);
    session = (await post(`${server.url}/sessions`, { title: 'Big log', tasks: { a: 'Import' } })).body;
  }, 30_000);

  afterAll(() => {
    for (const socket of sockets) socket.destroy();
    server?.kill();
  });

  const healthz = async () => (await (await fetch(`${server.url}/healthz`)).json()) as { connections: number };

  it('keeps memory bounded, the reading viewer on time, and closes the stuck ones at the deadline', async () => {
    const pid = server.child.pid!;
    const reader = await openStream(session.streamUrl, { headers: bearer(session.viewerToken) });
    await reader.waitFor((l) => l.type === 'snapshot');

    const { hostname: host, port } = new URL(server.url);
    const path = new URL(session.streamUrl).pathname;
    for (let i = 0; i < STUCK; i++) {
      const socket = connect(Number(port), host);
      socket.on('error', () => {}); // reset by the server at the deadline: expected
      socket.write(
        `GET ${path}?token=${session.viewerToken} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: application/x-ndjson\r\n\r\n`,
      );
      socket.pause(); // never reads: the kernel's buffers fill, then the server's socket is full
      sockets.push(socket);
    }
    await expect.poll(async () => (await healthz()).connections, { timeout: 10_000 }).toBe(STUCK + 1);
    const before = rssMb(pid);

    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(pid));
    }, 50);
    const lag: number[] = [];
    const arrivals: Promise<unknown>[] = [];
    const started = Date.now();
    try {
      for (let p = 0; p < POSTS; p++) {
        const lines = Array.from({ length: LINES_PER_POST }, (_, i) =>
          `${String(p * LINES_PER_POST + i).padStart(6, '0')} `.padEnd(LINE, 'x'),
        );
        const last = lines.at(-1)!.slice(0, 6);
        const seen = reader.waitFor(
          (l) => l.type === 'snapshot' && l.logs.some((log) => log.line.startsWith(last)),
          15_000,
        );
        const answer = await fetch(`${session.snapshotUrl}/events`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...bearer(session.reporterToken) },
          body: JSON.stringify({ type: 'log', lines }),
        });
        expect(answer.status).toBe(200);
        const sent = Date.now();
        // Timed from the answer to the line reaching the reader; the next post does not wait for it.
        arrivals.push(seen.then(() => lag.push(Date.now() - sent)));
        if (p < POSTS - 1) await new Promise((resolve) => setTimeout(resolve, PACE_MS));
      }
      await Promise.allSettled(arrivals);
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - started) / 1000;

    // Every line, in order, to the reader that reads (a line lost shows here, not as a timeout).
    const seen = reader.snapshots().flatMap((s: Snapshot) => s.logs.map((log) => Number(log.line.slice(0, 6))));
    expect(seen).toEqual(Array.from({ length: POSTS * LINES_PER_POST }, (_, i) => i));
    expect(lag).toHaveLength(POSTS);
    lag.sort((a, b) => a - b);
    const p99 = lag[Math.floor(lag.length * 0.99)]!;
    console.log(
      `slow readers: ${STUCK} stuck connections, ${(POSTS * LINES_PER_POST * LINE) / 1e6} MB logged in ${seconds.toFixed(1)} s; ` +
        `server RSS ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB at most; reader lag p50 ${lag[lag.length >> 1]} ms, p99 ${p99} ms, max ${lag.at(-1)} ms`,
    );
    // Bounded: the stuck connections' share is their sockets and at most one line each, not the
    // log — queued, it would be 500 × 10 MB. (Alone: +46 MB; beside the rest of the suite on 2 cores,
    // where garbage waits longer to be collected: up to +225 MB seen.)
    expect(peak - before).toBeLessThan(400);
    // On time: never held until the stuck ones are dropped, STUCK_MS away. (Alone: p99 0.6 s;
    // beside the rest of the suite: 2.3 s seen.)
    expect(p99).toBeLessThan(STUCK_MS / 2);

    // All still open (the deadline is not yet past: what was measured is their worst)...
    expect((await healthz()).connections).toBe(STUCK + 1);
    // ...and closed at the deadline; the reader stays.
    await expect.poll(async () => (await healthz()).connections, { timeout: STUCK_MS + 10_000 }).toBe(1);
    expect(reader.isEnded()).toBe(false);
    expect(server.alive()).toBe(true);
    reader.close();
  }, 120_000);
});
