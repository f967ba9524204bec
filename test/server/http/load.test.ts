import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot } from '../../../protocol/index.ts';
import type { StoredSession } from '../../../server/core/model.ts';
import { MemorySessionStore } from '../../../server/store/memory-store.ts';
import type { SessionStore, StoreChange } from '../../../server/store/session-store.ts';
import { bearer, openStream, post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';

/**
 * The real memory store, counting reads. Notifications are passed on without
 * the session they carry, as a shared store (Redis) would send them, so every
 * change really costs the watcher a read: the count is then what a
 * multi-instance deployment pays.
 */
class CountingStore extends MemorySessionStore implements SessionStore {
  reads = 0;
  override async get(id: string): Promise<StoredSession | undefined> {
    this.reads += 1;
    return super.get(id);
  }
  override subscribe(listener: (change: StoreChange) => void, onResync?: () => void): () => void {
    return super.subscribe(({ session: _carried, ...change }) => listener(change), onResync);
  }
}

let store: CountingStore;
let server: TestServer;
beforeAll(async () => {
  store = new CountingStore();
  // A thousand viewers from one address in a moment: more than a browser's rate.
  server = await startServer({ store, rateLimits: { streams: { points: 10_000, seconds: 1 } } });
});
afterAll(() => server.close());

async function create(): Promise<CreatedSession> {
  return (await post(`${server.url}/sessions`, { tasks: { a: 'A' } })).body;
}

describe('under load', () => {
  it('loses nothing when 200 event batches hit one session at once; versions strictly increase', async () => {
    const s = await create();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        post(`${s.snapshotUrl}/events`, [{ type: 'log', line: `line ${i}` }], bearer(s.reporterToken)),
      ),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const versions = answers.map((a) => a.body.version as number).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 200 }, (_, i) => i + 2));
    const snap: Snapshot = await (await fetch(s.snapshotUrl)).json();
    expect(snap.logs).toHaveLength(200);
    expect(new Set(snap.logs.map((l) => l.line)).size).toBe(200);
    expect(snap.logs.map((l) => l.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('costs a bounded number of store reads per change with 1,000 streams on one session', async () => {
    const s = await create();
    const streams = [];
    for (let i = 0; i < 1_000; i += 100) {
      streams.push(...(await Promise.all(Array.from({ length: 100 }, () => openStream(s.streamUrl)))));
    }
    await Promise.all(streams.map((r) => r.waitFor((l) => l.type === 'snapshot')));
    const before = store.reads;
    const changes = 10;
    for (let i = 1; i <= changes; i++) {
      await post(`${s.snapshotUrl}/events`, [{ type: 'log', line: `change ${i}` }], bearer(s.reporterToken));
      // Each change seen on its own: every stream has it before the next is made.
      await Promise.all(streams.map((r) => r.waitFor((l) => l.type === 'snapshot' && l.version === i + 1, 10_000)));
    }
    await Promise.all(streams.map((r) => r.waitFor((l) => l.type === 'snapshot' && l.version === changes + 1, 10_000)));
    const readsPerChange = (store.reads - before) / changes;
    // The watcher reads once to fan out (the events route reads inside its update). Not one per stream.
    expect(readsPerChange).toBeLessThanOrEqual(2);
    for (const r of streams) r.close();
    await expect.poll(() => server.liveop.stats(), { timeout: 5_000 }).toMatchObject({ watchers: 0, connections: 0 });
  }, 60_000);
});
