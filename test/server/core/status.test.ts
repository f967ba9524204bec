/** The time rules, with plain `now` values: when the clock ends a session, and retention as docs/protocol.md states it. */
import { describe, expect, it } from 'vitest';
import { createSession } from '../../../server/core/model.ts';
import { applyEvents, requestCancel } from '../../../server/core/reducer.ts';
import {
  cancelGraceEndsAt,
  deadAt,
  deadMessage,
  endsByClockAt,
  finishedAt,
  isDead,
  isFinal,
  retentionMs,
  sessionStatus,
} from '../../../server/core/status.ts';

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

/** A started session with a short dead-worker rule and cancel grace, so plain `now` values cross them. */
const started = () =>
  applyEvents(
    createSession('s1', { tasks: { a: 'A' } }, T0, { deadAfterMs: 10_000, cancelGraceMs: 3_000 }),
    [{ type: 'start', task: 'a' }],
    T0,
  );

describe('when the clock ends a session', () => {
  it('fails a session with no event for deadAfterMs, at that instant and not before', () => {
    const s = started();
    expect(deadAt(s)).toBe(T0 + 10_000);
    expect(endsByClockAt(s)).toBe(T0 + 10_000);
    expect(sessionStatus(s, T0 + 9_999)).toBe('running');
    expect(isDead(s, T0 + 9_999)).toBe(false);
    expect(sessionStatus(s, T0 + 10_000)).toBe('error');
    expect(finishedAt(s, T0 + 50_000)).toBe(T0 + 10_000);
    expect(deadMessage(s)).toBe('The worker was lost: no event for 10 s.');
  });

  it('says no worker started when a pending session goes silent', () => {
    const s = createSession('s1', { tasks: { a: 'A' } }, T0, { deadAfterMs: 120_000 });
    expect(sessionStatus(s, T0 + 120_000)).toBe('error');
    expect(deadMessage(s)).toBe('No worker started this operation within 2 min.');
  });

  it('moves the dead-worker deadline with every event', () => {
    const s = applyEvents(started(), [{ type: 'heartbeat', task: 'a' }], T0 + 8_000);
    expect(deadAt(s)).toBe(T0 + 18_000);
    expect(sessionStatus(s, T0 + 12_000)).toBe('running');
  });

  it('cancels a session whose cancel request went unanswered for cancelGraceMs, whichever rule comes first', () => {
    const s = started();
    expect(cancelGraceEndsAt(s)).toBe(Number.POSITIVE_INFINITY);
    const asked = requestCancel(s, T0 + 1_000);
    expect(cancelGraceEndsAt(asked)).toBe(T0 + 4_000);
    expect(endsByClockAt(asked)).toBe(T0 + 4_000);
    expect(sessionStatus(asked, T0 + 3_999)).toBe('running');
    expect(sessionStatus(asked, T0 + 4_000)).toBe('cancelled');
    expect(finishedAt(asked, T0 + 60_000)).toBe(T0 + 4_000);
    // Asked just before the worker would be declared lost: the dead-worker rule comes first.
    const late = requestCancel(s, T0 + 9_000);
    expect(endsByClockAt(late)).toBe(T0 + 10_000);
    expect(sessionStatus(late, T0 + 10_000)).toBe('error');
    expect(sessionStatus(late, T0 + 60_000)).toBe('error'); // and stays so once the grace has run out too
  });

  it('lets an event that ends the session win over the clock, for good', () => {
    const done = applyEvents(requestCancel(started(), T0 + 1_000), [{ type: 'complete', task: 'a' }], T0 + 2_000);
    expect(sessionStatus(done, T0 + 60_000)).toBe('complete');
    expect(isFinal(done, T0 + 2_000)).toBe(true);
    expect(finishedAt(done, T0 + 60_000)).toBe(T0 + 2_000);
  });
});
