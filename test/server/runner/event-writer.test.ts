/**
 * The in-process event writer against the real sessions service and memory
 * store: one batch per tick, percent reports coalesced, nothing dropped out
 * of sight.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../../protocol/index.ts';
import { createSessionSchema, parse } from '../../../server/core/schemas.ts';
import { EventWriter } from '../../../server/runner/event-writer.ts';
import { createAuthenticator, SessionAccess, TokenSigner } from '../../../server/sessions/access.ts';
import { SessionService } from '../../../server/sessions/session-service.ts';
import { MemorySessionStore } from '../../../server/store/memory-store.ts';

let store: MemorySessionStore;
afterEach(() => store?.close());

async function setUp(tasks: Record<string, string> = { a: 'A', b: 'B' }) {
  store = new MemorySessionStore();
  const signer = new TokenSigner();
  const service = new SessionService({
    store,
    signer,
    authenticator: createAuthenticator({}, signer),
    now: Date.now,
    operations: { spec: () => undefined, run: async () => {} },
    sessionDefaults: {},
    viewerTokenTtlSeconds: 60,
    reporterTokenTtlSeconds: 60,
  });
  const { created } = await service.create(parse(createSessionSchema, { tasks }), { kind: 'system' }, '');
  const batches: ProgressEvent[][] = [];
  const logged: string[] = [];
  const writer = new EventWriter({
    report: (id, events) => {
      batches.push([...events]);
      return service.report(SessionAccess.check(id, { kind: 'system' }, 'report'), events);
    },
    log: (message) => logged.push(message),
  });
  return { id: created.id, writer, batches, logged, read: async () => (await store.get(created.id))! };
}

describe('the event writer', () => {
  it('writes what one tick pushed as one batch, keeping only the newest of a run of percent reports', async () => {
    const { id, writer, batches, read } = await setUp();
    for (let i = 0; i <= 1000; i++) writer.push(id, { type: 'percent', task: 'a', value: i / 10 });
    writer.push(id, { type: 'log', line: 'one' });
    writer.push(id, { type: 'log', line: 'two' });
    writer.push(id, { type: 'steps', task: 'b', done: 3, total: 4 });
    await writer.flush(id);
    expect(batches).toEqual([
      [
        { type: 'percent', task: 'a', value: 100 },
        { type: 'log', line: 'one' },
        { type: 'log', line: 'two' },
        { type: 'steps', task: 'b', done: 3, total: 4 },
      ],
    ]);
    expect((await read()).version).toBe(2);
    expect(writer.size).toBe(0);
  });

  it('writes a refused batch again event by event, so what still applies does, and logs the refusal once', async () => {
    const { id, writer, logged, read } = await setUp();
    writer.push(id, { type: 'log', line: 'kept' });
    writer.push(id, { type: 'percent', task: 'ghost', value: 5 });
    writer.push(id, { type: 'log', line: 'kept too' });
    await writer.flush(id);
    expect((await read()).logs.map((l) => l.line)).toEqual(['kept', 'kept too']);
    expect(logged).toEqual([
      expect.stringMatching(/refused 1 in-process event\(s\) \(percent\): unknown task "ghost"/),
    ]);
    writer.push(id, { type: 'percent', task: 'ghost', value: 6 });
    await writer.flush(id);
    expect(logged).toHaveLength(1);
  });

  it('takes several tasks saying cancelled in one tick as one cancel', async () => {
    const { id, writer, logged, read } = await setUp({ a: 'A', b: 'B', c: 'C' });
    writer.push(id, { type: 'start', task: 'a' });
    await writer.flush(id);
    for (let i = 0; i < 3; i++) writer.push(id, { type: 'cancelled' });
    await writer.flush(id);
    const session = await read();
    expect(session.cancelled).toBe(true);
    expect(session.tasks.map((t) => t.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(logged).toEqual([]);
  });
});
