/** The time rules: retention as docs/protocol.md states it. */
import { describe, expect, it } from 'vitest';
import { createSession } from '../../../server/core/model.ts';
import { applyEvents } from '../../../server/core/reducer.ts';
import { retentionMs, sessionStatus } from '../../../server/core/status.ts';

const T0 = 1_700_000_000_000;

describe('retention', () => {
  it('keeps a session ttlSeconds from the batch that completed it, which ended it then and there', () => {
    const created = createSession('s1', { tasks: { a: 'A' }, ttlSeconds: 300 }, T0);
    const done = applyEvents(created, [{ type: 'complete', task: 'a' }], T0 + 1_000);
    expect(sessionStatus(done, T0 + 1_000)).toBe('complete');
    expect(done.finishedAt).toBe(T0 + 1_000);
    expect(retentionMs(done, T0 + 1_000)).toBe(300_000);
  });

  it('keeps a running session deadAfterMs + ttlSeconds, so viewers see why it failed', () => {
    const running = applyEvents(
      createSession('s1', { tasks: { a: 'A' }, ttlSeconds: 300 }, T0),
      [{ type: 'start', task: 'a' }],
      T0,
    );
    expect(retentionMs(running, T0)).toBe(600_000 + 300_000);
  });

  it('keeps a failed or cancelled session ttlSeconds from when it ended', () => {
    const base = createSession('s1', { tasks: { a: 'A' }, ttlSeconds: 60 }, T0);
    expect(retentionMs(applyEvents(base, [{ type: 'error', message: 'x' }], T0), T0)).toBe(60_000);
    expect(retentionMs(applyEvents(base, [{ type: 'cancelled' }], T0), T0 + 10_000)).toBe(50_000);
  });
});
