/**
 * The stream hub on its own: a real memory store, subscriptions taken as a
 * transport would take them, no HTTP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ProgressEvent, Snapshot, StreamLine } from '../../../protocol/index.ts';
import { createSession } from '../../../server/core/model.ts';
import { applyEvents } from '../../../server/core/reducer.ts';
import { MemorySessionStore } from '../../../server/store/memory-store.ts';
import { StreamHub, type Subscription } from '../../../server/stream/hub.ts';

let store: MemorySessionStore;
let hub: StreamHub;
afterEach(async () => {
  hub?.close();
  await store?.close();
});

async function setUp(options: { throttleHz?: number; heartbeatMs?: number } = {}) {
  store = new MemorySessionStore();
  hub = new StreamHub({ store, throttleHz: options.throttleHz ?? 1_000, heartbeatMs: options.heartbeatMs ?? 60_000 });
  const session = createSession('s1', { tasks: { a: 'A' } }, Date.now());
  await store.create(session);
  const report = (events: ProgressEvent[]) => store.update('s1', (s) => applyEvents(s, events, Date.now()));
  return { report };
}

/** Resolves with what `take()` gives once the hub says something is pending. */
function next(subscription: Subscription): Promise<StreamLine[]> {
  return new Promise((resolve) => {
    const lines = subscription.take().map((l) => l.line);
    if (lines.length > 0) return resolve(lines);
    subscription.onPending = () => {
      const taken = subscription.take().map((l) => l.line);
      if (taken.length > 0) resolve(taken);
    };
  });
}

describe('the stream hub', () => {
  it('holds nothing for a subscriber that takes nothing: the next take is one line with the newest state and every log', async () => {
    const { report } = await setUp();
    const subscription = await hub.subscribe(new Map([['s1', {}]]));
    for (let i = 0; i < 100; i++) {
      await report([
        { type: 'log', line: `l${i}` },
        { type: 'percent', task: 'a', value: i / 2 },
      ]);
      await new Promise((resolve) => setTimeout(resolve, 2)); // let the watcher broadcast as it goes
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = subscription.take().map((l) => l.line as Snapshot);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.version).toBe(101);
    expect(lines[0]!.logs.map((l) => l.line)).toEqual(Array.from({ length: 100 }, (_, i) => `l${i}`));
    subscription.close();
    expect(hub.stats()).toEqual({ watchers: 0, connections: 0 });
  });

  it('gives caught-up subscribers the same line object and JSON, and a late one its own with the whole log', async () => {
    const { report } = await setUp();
    const a = await hub.subscribe(new Map([['s1', {}]]));
    const b = await hub.subscribe(new Map([['s1', {}]]));
    await Promise.all([next(a), next(b)]);
    await report([{ type: 'log', line: 'one' }]);
    const [fromA, fromB] = await Promise.all([next(a), next(b)]);
    expect(fromA![0]).toBe(fromB![0]);
    const late = await hub.subscribe(new Map([['s1', { logAfter: 0 }]]));
    const [own] = (await next(late)) as Snapshot[];
    expect(own!.logs.map((l) => l.line)).toEqual(['one']);
  });

  it('makes one catch-up line for the subscribers behind at the same cursor, and another for a different cursor', async () => {
    const { report } = await setUp();
    await report([{ type: 'log', lines: ['one', 'two', 'three'] }]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const behind = await Promise.all([1, 2, 3].map(() => hub.subscribe(new Map([['s1', { logAfter: 1 }]]))));
    const other = await hub.subscribe(new Map([['s1', { logAfter: 2 }]]));
    const taken = await Promise.all(
      [...behind, other].map(
        (s) =>
          new Promise<ReturnType<Subscription['take']>>((resolve) => {
            const now = s.take();
            if (now.length > 0) resolve(now);
            else s.onPending = () => resolve(s.take());
          }),
      ),
    );
    expect(taken.map((t) => t.length)).toEqual([1, 1, 1, 1]);
    expect(taken[1]![0]).toBe(taken[0]![0]);
    expect(taken[2]![0]).toBe(taken[0]![0]);
    expect(taken[3]![0]).not.toBe(taken[0]![0]);
    expect((taken[0]![0]!.line as Snapshot).logs.map((l) => l.line)).toEqual(['two', 'three']);
    expect((taken[3]![0]!.line as Snapshot).logs.map((l) => l.line)).toEqual(['three']);
  });

  it('says gone for a session that does not exist, and ends', async () => {
    await setUp();
    const subscription = await hub.subscribe(new Map([['nope', {}]]));
    expect(subscription.take().map((l) => l.line)).toEqual([{ type: 'gone', id: 'nope' }]);
    expect(subscription.done).toBe(true);
  });

  it('marks a heartbeat due after the silence, and a reconnect line on shutdown', async () => {
    await setUp({ heartbeatMs: 60 });
    const subscription = await hub.subscribe(new Map([['s1', {}]]));
    await next(subscription);
    expect(await next(subscription)).toEqual([{ type: 'heartbeat' }]);
    subscription.onPending = () => {};
    hub.shutdown();
    expect(subscription.take().map((l) => l.line)).toEqual([{ type: 'reconnect' }]);
    expect(subscription.done).toBe(true);
  });
});
