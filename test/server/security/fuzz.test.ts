/**
 * Fuzzing every route of a real server — keyed mode, with valid credentials
 * so requests reach validation — with the bodies, headers and query strings
 * of fuzz-requests.ts. Whatever arrives: never a 5xx, never a hang, every
 * error answer the contract's `{"error":{"code","message"}}`, the watched
 * session always readable with a valid snapshot and a version that only rises
 * (and does not move when a request was refused), and the server's memory
 * bounded.
 *
 * Seeded and reproducible: `FUZZ_SEED` (a fixed one by default) and
 * `FUZZ_RUNS` (1,000 by default; 5,000 under `npm run test:soak`). A
 * failure prints the seed to run it again.
 */
import { Agent, request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ERROR_CODES,
  type ErrorStatus,
  isTerminal,
  SESSION_STATUSES,
  STAGE_STATES,
  TASK_STATUSES,
} from '../../../protocol/index.ts';
import { bearer, post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';
import { soakScale } from '../../support/soak.ts';
import { type FuzzRequest, fuzzRequest, type Part, type Slot } from './fuzz-requests.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_123);
const RUNS = Number(process.env.FUZZ_RUNS ?? soakScale(5_000, 1_000));
const REQUEST_TIMEOUT_MS = 5_000;
/**
 * How far memory may grow (the server runs in this process: its RSS is this
 * process's). The peak takes the 1.5 MB bodies and 200,000-deep nestings in
 * flight; what is kept after a full collection is the sessions made.
 */
const RSS_GROWTH_LIMIT = 256 * 2 ** 20;
const HEAP_GROWTH_LIMIT = 64 * 2 ** 20;

const OWNER = 'ann-key-0123456789abcdef';
const ADMIN = 'admin-key-0123456789abcdef';

let server: TestServer;
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/** The sessions the requests are about, replaced when they end or are deleted. */
const kept = {} as Record<Slot, { id: string; viewerToken: string; reporterToken: string }>;
/** The target's version when last read. */
let version = 0;

const stats = { requests: 0, reads: 0, statuses: new Map<number, number>(), peakRss: 0, baseRss: 0 };

async function keep(slot: Slot): Promise<void> {
  const made =
    slot === 'finished'
      ? await post(`${server.url}/operations/fails`, {}, bearer(OWNER))
      : await post(`${server.url}/sessions`, { title: slot, tasks: { a: 'A', b: 'B', main: 'M' } }, bearer(OWNER));
  expect(made.status).toBe(201);
  kept[slot] = made.body;
  if (slot === 'target') version = 1;
}

beforeAll(async () => {
  server = await startServer({
    apiKeys: { [OWNER]: { owner: 'ann' }, [ADMIN]: { owner: 'ops', admin: true } },
    runner: 'inline',
    // On, so their middleware runs; high enough for one sequential client.
    rateLimits: {
      create: { points: 100_000, seconds: 1 },
      events: { points: 100_000, seconds: 1 },
      streams: { points: 100_000, seconds: 1 },
      tokens: { points: 100_000, seconds: 1 },
    },
  });
  server.liveop
    .operation('count', {
      input: z.object({ rows: z.number().int().min(0).max(100), label: z.string().max(100).optional() }).strict(),
      run: (task, { rows }) => {
        for (let i = 0; i < rows; i++) task.log(`row ${i}`);
      },
    })
    .operation('fails', {
      run: () => {
        throw new Error('fails at once');
      },
    });
  for (const slot of ['target', 'victim', 'finished'] as const) await keep(slot);
});

afterAll(async () => {
  agent.destroy();
  await server.close();
});

const resolve = (part: Part): string => (typeof part === 'string' ? part : kept[part.slot][part.as]);

const CREDENTIALS: Record<FuzzRequest['auth'], () => string | undefined> = {
  owner: () => OWNER,
  admin: () => ADMIN,
  reporter: () => kept.target.reporterToken,
  viewer: () => kept.target.viewerToken,
  none: () => undefined,
  garbage: () => 'not.a-token',
};

interface Answer {
  status: number;
  type: string;
  text: string;
}

/** One line about a request, for a failure's message. */
function describeRequest(r: FuzzRequest, path: string): string {
  const body = r.body === null ? 'no body' : `${r.body.length} bytes${r.chunked ? ' chunked' : ''}`;
  const head = r.body === null ? '' : ` ${JSON.stringify(Buffer.from(r.body.subarray(0, 160)).toString())}`;
  return `${r.method} ${path.slice(0, 300)} as ${r.auth}, ${JSON.stringify(r.headers)}, ${body}${head}`;
}

/** Sends it over Node's own client (no URL or body normalising); a stream's answer is its first line. */
function send(r: FuzzRequest): Promise<Answer & { described: string }> {
  const query = r.query.map(([key, value]) => `${key}=${resolve(value)}`).join('&');
  const path = r.path.map(resolve).join('') + (query === '' ? '' : `?${query}`);
  const described = describeRequest(r, path);
  const credential = CREDENTIALS[r.auth]();
  const url = new URL(server.url);
  const headers: Record<string, string> = { ...r.headers };
  if (credential !== undefined) headers.authorization = `Bearer ${credential}`;
  if (r.body !== null)
    headers[r.chunked ? 'transfer-encoding' : 'content-length'] = r.chunked ? 'chunked' : `${r.body.length}`;
  return new Promise((done, fail) => {
    let settled = false;
    const settle = (error: Error | null, answer?: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) fail(new Error(`${error.message}: ${described}`));
      else done({ ...answer!, described });
    };
    const outgoing = request(
      { host: url.hostname, port: url.port, method: r.method, path, headers, agent },
      (incoming) => {
        const type = incoming.headers['content-type'] ?? '';
        const streamed = /^(application\/x-ndjson|text\/event-stream)/.test(type) && incoming.statusCode === 200;
        const chunks: Buffer[] = [];
        const finish = () =>
          settle(null, { status: incoming.statusCode!, type, text: Buffer.concat(chunks).toString() });
        incoming.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if (streamed && chunk.includes(10)) {
            finish();
            incoming.destroy();
          }
        });
        incoming.on('end', finish);
        incoming.on('error', (error) => settle(error));
      },
    );
    const timer = setTimeout(() => {
      outgoing.destroy();
      settle(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`));
    }, REQUEST_TIMEOUT_MS);
    outgoing.on('error', (error) => settle(error));
    if (r.body !== null && r.chunked) {
      // A few chunks, the way a streaming client sends them.
      const third = Math.ceil(r.body.length / 3);
      for (let at = 0; at < r.body.length; at += third) outgoing.write(r.body.subarray(at, at + third));
      outgoing.end();
    } else {
      outgoing.end(r.body ?? undefined);
    }
  });
}

const snapshotSchema = z.object({
  type: z.literal('snapshot'),
  id: z.string(),
  version: z.number().int().min(1),
  status: z.enum(SESSION_STATUSES),
  percent: z.number().int().min(0).max(100),
  etaMs: z.number().min(0).nullable(),
  tasks: z
    .array(
      z.object({
        id: z.string(),
        name: z.string(),
        status: z.enum(TASK_STATUSES),
        percent: z.number().int().min(0).max(100),
        simulated: z.boolean(),
        stalled: z.boolean(),
        etaMs: z.number().min(0).nullable(),
      }),
    )
    .min(1),
  stages: z.array(z.object({ name: z.string(), state: z.enum(STAGE_STATES) })),
  logs: z.array(z.object({ seq: z.number().int().min(1), at: z.string(), line: z.string() })),
  logSeq: z.number().int().min(0),
  artifacts: z.array(z.object({ name: z.string() })).max(100),
  cancelRequested: z.boolean(),
  next: z.object({ id: z.string() }).nullable(),
  createdAt: z.string(),
  expiresAt: z.string(),
});

/** The contract's error answer, exactly. */
function checkError(answer: Answer, described: string): void {
  const problem = (what: string) => new Error(`${what} (${answer.status} ${answer.text.slice(0, 200)}): ${described}`);
  if (!answer.type.startsWith('application/json')) throw problem(`an error answer as ${answer.type || 'no type'}`);
  const body = JSON.parse(answer.text);
  const expected = { error: { code: ERROR_CODES[answer.status as ErrorStatus], message: body?.error?.message } };
  if (typeof body?.error?.message !== 'string' || body.error.message === '' || !isDeepEqual(body, expected)) {
    throw problem('not the contract’s error');
  }
}

const isDeepEqual = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The target is still readable, its snapshot valid, its version risen only when something was applied. */
async function checkTarget(answer: Answer, described: string): Promise<void> {
  stats.reads += 1;
  const read = await fetch(`${server.url}/sessions/${kept.target.id}`, { headers: bearer(OWNER) });
  const text = await read.text();
  if (read.status !== 200)
    throw new Error(`the target answers ${read.status} ${text.slice(0, 200)} after ${described}`);
  const parsed = snapshotSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`an invalid snapshot (${parsed.error.message}) after ${described}`);
  const snapshot = parsed.data;
  const seqs = snapshot.logs.map((l) => l.seq);
  if (seqs.some((seq, i) => i > 0 && seq <= seqs[i - 1]!)) throw new Error(`log seqs out of order after ${described}`);
  if (snapshot.version < version) throw new Error(`version fell ${version} → ${snapshot.version} after ${described}`);
  if (answer.status >= 400 && snapshot.version !== version) {
    throw new Error(
      `a refused request (${answer.status}) moved the version ${version} → ${snapshot.version}: ${described}`,
    );
  }
  version = snapshot.version;
  // A session that ended (or will, on a cancel) takes no more events: keep a fresh one.
  if (isTerminal(snapshot.status) || snapshot.cancelRequested || snapshot.next !== null) {
    await keep('target');
  }
}

function sampleRss(): void {
  stats.peakRss = Math.max(stats.peakRss, process.memoryUsage().rss);
}

/** The heap that survives a full collection: what the server holds on to. */
function retainedHeap(): number {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

function report(seconds: string, heapGrowth: number | null): void {
  const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;
  const statuses = [...stats.statuses]
    .sort(([a], [b]) => a - b)
    .map(([status, count]) => `${status}: ${count.toLocaleString('en-US')}`)
    .join(', ');
  console.log(
    `fuzz: ${stats.requests.toLocaleString('en-US')} requests — ${statuses} ` +
      `(seed ${SEED}, ${seconds} s; ${stats.reads.toLocaleString('en-US')} reads of the watched session; ` +
      `RSS peak +${mb(stats.peakRss - stats.baseRss)}${heapGrowth === null ? '' : `, heap kept +${mb(heapGrowth)}`})`,
  );
}

describe('fuzzing every route', () => {
  it(`answers ${RUNS.toLocaleString('en-US')} generated requests within the contract (seed ${SEED})`, async () => {
    const baseHeap = retainedHeap();
    stats.baseRss = process.memoryUsage().rss;
    stats.peakRss = stats.baseRss;
    const started = performance.now();
    let previous = 'nothing';
    const property = fc.asyncProperty(fuzzRequest, async (r) => {
      const answer = await send(r).catch((error: Error) => {
        throw new Error(`${error.message}\n  (the request before: ${previous})`);
      });
      previous = `${answer.status} ← ${answer.described.slice(0, 400)}`;
      stats.requests += 1;
      stats.statuses.set(answer.status, (stats.statuses.get(answer.status) ?? 0) + 1);
      if (answer.status >= 500) throw new Error(`${answer.status} ${answer.text.slice(0, 300)}: ${answer.described}`);
      if (answer.status >= 400 && r.method !== 'HEAD') checkError(answer, answer.described);
      if (r.method === 'DELETE' && answer.status === 204) await keep('victim');
      await checkTarget(answer, answer.described);
      if (stats.requests % 100 === 0) sampleRss();
    });
    let heapGrowth: number | null = null;
    try {
      await fc.assert(property, { seed: SEED, numRuns: RUNS, endOnFailure: process.env.FUZZ_SHRINK !== '1' });
      sampleRss();
      heapGrowth = retainedHeap() - baseHeap;
    } catch (error) {
      console.error(
        `fuzz failed; run it again with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} npx vitest run test/server/security/fuzz.test.ts (add FUZZ_SHRINK=1 to shrink it)`,
      );
      throw error;
    } finally {
      report(((performance.now() - started) / 1000).toFixed(1), heapGrowth);
    }
    // Bounded: what it keeps (the sessions made, their logs) is small, and the peak is not a leak.
    expect(heapGrowth).toBeLessThan(HEAP_GROWTH_LIMIT);
    expect(stats.peakRss - stats.baseRss).toBeLessThan(RSS_GROWTH_LIMIT);
    // And it still serves as before.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/sessions?limit=100`, { headers: bearer(OWNER) })).status).toBe(200);
  }, 240_000);

  // Found by the fuzzing: after a 413 on a chunked body, the server dropped the connection it had
  // just called keep-alive, and the client's next request on it failed ("socket hang up").
  it('closes a connection whose chunked body it refused unread, and says so', async () => {
    const url = new URL(server.url);
    const reuse = new Agent({ keepAlive: true, maxSockets: 1 });
    const postBody = (body: Buffer, chunked: boolean) =>
      new Promise<{ status: number; connection: string | undefined }>((done, fail) => {
        const headers = {
          authorization: `Bearer ${OWNER}`,
          'content-type': 'application/json',
          ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': `${body.length}` }),
        };
        const outgoing = request(
          { host: url.hostname, port: url.port, method: 'POST', path: '/sessions', headers, agent: reuse },
          (incoming) => {
            incoming.resume();
            incoming.on('end', () => done({ status: incoming.statusCode!, connection: incoming.headers.connection }));
          },
        );
        outgoing.on('error', fail);
        outgoing.write(body.subarray(0, 1_000));
        outgoing.end(body.subarray(1_000));
      });
    try {
      expect(await postBody(Buffer.alloc(1_500_000, 0x20), true)).toEqual({ status: 413, connection: 'close' });
      expect(await postBody(Buffer.from(`{"title":"next"}${' '.repeat(1_000)}`), false)).toMatchObject({ status: 201 });
    } finally {
      reuse.destroy();
    }
  });
});
