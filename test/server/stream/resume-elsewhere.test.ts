/**
 * A viewer that resumes on an instance which has not yet heard of the
 * latest change (its Redis notification still on the way, or lost while
 * Redis was away) must not be sent that instance's older state: its version
 * would go back and, from the older log cursor, log lines would come twice.
 * Found by `npm run chaos`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ProgressEvent, Snapshot } from '../../../protocol/index.ts';
import { createSession } from '../../../server/core/model.ts';
import { applyEvents } from '../../../server/core/reducer.ts';
import { MemorySessionStore } from '../../../server/store/memory-store.ts';
import type { SessionStore, StoreChange } from '../../../server/store/session-store.ts';
import { StreamHub, type Subscription } from '../../../server/stream/hub.ts';

let store: MemorySessionStore;
let hub: StreamHub;
afterEach(async () => {
  hub?.close();
  await store?.close();
});

/** The store as a second instance sees it: the same data, its change notifications held back while `deaf`. */
function laggingView(of: SessionStore): { view: SessionStore; hear(deaf: boolean): void } {
  let deaf = false;
  const view = new Proxy(of, {
    get(target, key, receiver) {
      if (key !== 'subscribe') {
        const value = Reflect.get(target, key, receiver);
        // Its methods use private fields: called on the store itself, not the proxy.
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (listener: (change: StoreChange) => void, onResync?: () => void) =>
        target.subscribe((change) => {
          if (!deaf) listener(change);
        }, onResync);
    },
  });
  return { view, hear: (d) => (deaf = !d) };
}

/** Everything the subscription is given until `until` says stop. */
function collect(subscription: Subscription, until: (lines: Snapshot[]) => boolean): Promise<Snapshot[]> {
  const lines: Snapshot[] = [];
  return new Promise((resolve) => {
    const take = () => {
      for (const l of subscription.take()) if (l.line.type === 'snapshot') lines.push(l.line as Snapshot);
      if (until(lines)) resolve(lines);
    };
    subscription.onPending = take;
    take();
  });
}

describe('a stream resumed on an instance that is behind', () => {
  it('sends no version older than the cursor and no log line twice', async () => {
    store = new MemorySessionStore();
    await store.create(createSession('s1', { tasks: { a: 'A' } }, Date.now()));
    const report = (events: ProgressEvent[]) => store.update('s1', (s) => applyEvents(s, events, Date.now()));
    const { view, hear } = laggingView(store);
    hub = new StreamHub({ store: view, throttleHz: 1_000, heartbeatMs: 60_000 });
    await report([{ type: 'log', line: 'one' }]);
    // Someone already watches on this instance: it holds the session as it was then.
    const early = await hub.subscribe(new Map([['s1', {}]]));
    await collect(early, (lines) => lines.length > 0);
    hear(false);
    const two = await report([{ type: 'log', line: 'two' }]);
    // The viewer saw `two` on another instance, and resumes here.
    const resumed = await hub.subscribe(new Map([['s1', { after: two.version, logAfter: 2 }]]));
    hear(true);
    const three = await report([{ type: 'log', line: 'three' }]);
    const lines = await collect(resumed, (got) => got.some((s) => s.version >= three.version));
    expect(lines.every((s) => s.version >= two.version)).toBe(true);
    expect(lines.flatMap((s) => s.logs.map((l) => l.line))).toEqual(['three']);
    early.close();
    resumed.close();
  });

  it('sends the session as the store has it to a cursor past it (made up, or from a write the store lost), at once', async () => {
    store = new MemorySessionStore();
    await store.create(createSession('s1', { tasks: { a: 'A' } }, Date.now()));
    await store.update('s1', (s) => applyEvents(s, [{ type: 'log', line: 'one' }], Date.now()));
    // A heartbeat a minute away: the first line must not wait for it (fuzzing found a stream that answered nothing).
    hub = new StreamHub({ store, throttleHz: 1_000, heartbeatMs: 60_000 });
    const ahead = await hub.subscribe(new Map([['s1', { after: 3, logAfter: 7 }]]));
    const [line] = await collect(ahead, (got) => got.length > 0);
    expect(line).toMatchObject({ version: 2, logSeq: 1 });
    ahead.close();
  });
});
