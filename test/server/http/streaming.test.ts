import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot } from '../../../protocol/index.ts';
import { bearer, openStream, post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ heartbeatMs: 300 });
});
afterAll(() => server.close());

async function create(body: object = { title: 'Import', tasks: { a: 'Import products' } }): Promise<CreatedSession> {
  const { status, body: created } = await post(`${server.url}/sessions`, body);
  expect(status).toBe(201);
  return created;
}
const events = (s: CreatedSession, list: object[]) => post(`${s.snapshotUrl}/events`, list, bearer(s.reporterToken));

describe('streaming a session', () => {
  it('sends the current state at once, a line per change, and ends after the terminal snapshot', async () => {
    const s = await create();
    const stream = await openStream(s.streamUrl);
    expect(stream.response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(stream.response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(stream.response.headers.get('x-accel-buffering')).toBe('no');
    await stream.waitFor((l) => l.type === 'snapshot' && l.version === 1);
    await events(s, [
      { type: 'percent', task: 'a', value: 30 },
      { type: 'log', line: 'first' },
    ]);
    await stream.waitFor((l) => l.type === 'snapshot' && l.version === 2);
    await events(s, [{ type: 'complete', task: 'a' }]);
    await stream.ended;
    const snaps = stream.snapshots();
    expect(snaps.at(-1)).toMatchObject({ status: 'complete', percent: 100, version: 3 });
    expect(snaps.map((l) => l.version)).toEqual([...snaps.map((l) => l.version)].sort((a, b) => a - b));
    expect(snaps.flatMap((l) => l.logs.map((g) => g.line))).toEqual(['first']);
    const percents = snaps.map((l) => l.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
  });

  it('keeps an eased bar moving with no event, a whole percent at a time, and marks it stalled on time', async () => {
    const s = await create({ tasks: [{ id: 'a', name: 'Import', expectedMs: 2_000 }], stallAfterMs: 1_500 });
    const stream = await openStream(s.streamUrl);
    await events(s, [{ type: 'start', task: 'a' }]);
    // No more events: every line from here is the server waking on its own.
    await stream.waitFor((l) => l.type === 'snapshot' && l.tasks[0]!.stalled, 5_000);
    const moving = stream.snapshots().filter((l) => l.version === 2);
    const percents = moving.map((l) => l.tasks[0]!.percent);
    expect(percents.length).toBeGreaterThan(5);
    expect(new Set(percents).size).toBeGreaterThanOrEqual(percents.length - 1); // each a new whole percent, but maybe the stall
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    stream.close();
  });

  it('shows the same lines to a second viewer, and the final snapshot to a late one', async () => {
    const s = await create();
    const one = await openStream(s.streamUrl);
    const two = await openStream(s.streamUrl);
    await Promise.all([one, two].map((r) => r.waitFor((l) => l.type === 'snapshot')));
    await events(s, [
      { type: 'log', lines: ['a', 'b'] },
      { type: 'percent', task: 'a', value: 50 },
    ]);
    await events(s, [{ type: 'complete', task: 'a' }]);
    await Promise.all([one.ended, two.ended]);
    expect(two.lines).toEqual(one.lines);
    const late = await openStream(s.streamUrl);
    await late.ended;
    expect(late.snapshots()).toHaveLength(1);
    expect(late.snapshots()[0]).toMatchObject({ status: 'complete', percent: 100 });
    expect(late.snapshots()[0]!.logs.map((l) => l.line)).toEqual(['a', 'b']);
  });

  it('resumes with after / logAfter so every log line arrives exactly once', async () => {
    const s = await create();
    const first = await openStream(s.streamUrl);
    await events(s, [{ type: 'log', lines: ['1', '2'] }]);
    const seen = (await first.waitFor((l) => l.type === 'snapshot' && l.version === 2)) as Snapshot;
    first.close();
    await events(s, [{ type: 'log', line: '3' }]);
    await events(s, [{ type: 'log', line: '4' }]);
    const resumed = await openStream(`${s.streamUrl}?after=${seen.version}`);
    await events(s, [
      { type: 'log', line: '5' },
      { type: 'complete', task: 'a' },
    ]);
    await resumed.ended;
    const lines = [...first.snapshots(), ...resumed.snapshots()].flatMap((l) => l.logs.map((g) => g.line));
    expect(lines).toEqual(['1', '2', '3', '4', '5']);
    const byCursor = await openStream(`${s.streamUrl}?logAfter=4`);
    await byCursor.ended;
    expect(byCursor.snapshots()[0]!.logs.map((l) => l.line)).toEqual(['5']);
  });

  it('speaks Server-Sent Events when asked, with the version as id and Last-Event-ID to resume', async () => {
    const s = await create();
    await events(s, [{ type: 'log', line: 'old' }]);
    const sse = await openStream(s.streamUrl, { headers: { Accept: 'text/event-stream', 'Last-Event-ID': '2' } });
    expect(sse.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await events(s, [
      { type: 'log', line: 'new' },
      { type: 'complete', task: 'a' },
    ]);
    await sse.ended;
    expect(sse.snapshots().flatMap((l) => l.logs.map((g) => g.line))).toEqual(['new']);
    const raw = await (await fetch(s.streamUrl, { headers: { Accept: 'text/event-stream' } })).text();
    expect(raw).toMatch(/^id: 3\ndata: \{"type":"snapshot"/);
  });

  it('sends heartbeats while nothing changes', async () => {
    const s = await create();
    const stream = await openStream(s.streamUrl);
    await stream.waitFor((l) => l.type === 'heartbeat', 3_000);
    stream.close();
  });

  it('ends open streams with a gone line when the session is deleted', async () => {
    const s = await create();
    const stream = await openStream(s.streamUrl);
    await stream.waitFor((l) => l.type === 'snapshot');
    const deleted = await fetch(s.snapshotUrl, { method: 'DELETE', headers: bearer(s.reporterToken) });
    expect(deleted.status).toBe(204);
    await stream.ended;
    expect(stream.lines.at(-1)).toEqual({ type: 'gone', id: s.id });
    expect((await fetch(s.snapshotUrl)).status).toBe(404);
  });

  it('multiplexes several sessions on one connection, each line naming its session', async () => {
    const a = await create();
    const b = await create();
    const url = `${server.url}/stream?session=${a.id}&session=${b.id}&token=${a.viewerToken}&token=${b.viewerToken}`;
    const stream = await openStream(url);
    await events(a, [{ type: 'complete', task: 'a' }]);
    await events(b, [{ type: 'error', message: 'nope' }]);
    await stream.ended;
    const last = (id: string) =>
      stream
        .snapshots()
        .filter((l) => l.id === id)
        .at(-1);
    expect(last(a.id)?.status).toBe('complete');
    expect(last(b.id)?.status).toBe('error');
  });

  it('resumes a multiplexed stream with a cursor per session', async () => {
    const a = await create();
    const b = await create();
    await events(a, [{ type: 'log', lines: ['a1', 'a2'] }]);
    await events(b, [{ type: 'log', lines: ['b1', 'b2'] }]);
    const url = `${server.url}/stream?session=${a.id}&session=${b.id}&after=2&after=&logAfter=&logAfter=1`;
    const stream = await openStream(url);
    await events(a, [{ type: 'complete', task: 'a' }]);
    await events(b, [{ type: 'complete', task: 'a' }]);
    await stream.ended;
    const logs = (id: string) =>
      stream
        .snapshots()
        .filter((l) => l.id === id)
        .flatMap((l) => l.logs.map((g) => g.line));
    expect(logs(a.id)).toEqual([]);
    expect(logs(b.id)).toEqual(['b2']);
  });

  it('releases the stream, its watcher and its timers the moment the client goes away', async () => {
    const s = await create();
    await events(s, [{ type: 'start', task: 'a' }]); // running: the watcher ticks
    const streams = await Promise.all(Array.from({ length: 5 }, () => openStream(s.streamUrl)));
    await Promise.all(streams.map((r) => r.waitFor((l) => l.type === 'snapshot')));
    expect(server.liveop.stats()).toMatchObject({ watchers: 1, connections: 5 });
    for (const r of streams) r.close();
    await expect.poll(() => server.liveop.stats(), { timeout: 3_000 }).toMatchObject({ watchers: 0, connections: 0 });
  });
  // A slow reader (every log line once, the rest folded, no queue) is tested on both
  // transports, in stream-transport.test.ts.
});
