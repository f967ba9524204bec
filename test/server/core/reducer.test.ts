import { describe, expect, it } from 'vitest';
import { LiveopError } from '../../../server/core/errors.ts';
import { createSession } from '../../../server/core/model.ts';
import { applyEvents, requestCancel } from '../../../server/core/reducer.ts';
import { logSeqAtVersion, toSnapshot } from '../../../server/core/snapshot.ts';
import { retentionMs } from '../../../server/core/status.ts';

const T0 = 1_700_000_000_000;
const two = () => createSession('s1', { title: 'Import', tasks: { a: 'Load', b: 'Save' } }, T0);

describe('applying events', () => {
  it('applies a batch atomically: one bad event changes nothing', () => {
    const s = applyEvents(two(), [{ type: 'percent', task: 'a', value: 10 }], T0);
    expect(() =>
      applyEvents(
        s,
        [
          { type: 'log', line: 'kept?' },
          { type: 'percent', task: 'nope', value: 20 },
        ],
        T0 + 1,
      ),
    ).toThrow(/events\[1\] \(percent\): unknown task "nope"/);
    expect(s.version).toBe(2);
    expect(s.logs).toHaveLength(0);
  });

  it('drops what a task said it was doing once it completes, unless the complete event says something', () => {
    const s = applyEvents(
      two(),
      [
        { type: 'message', task: 'a', text: 'Importing' },
        { type: 'message', task: 'b', text: 'Saving', level: 'warning' },
        { type: 'complete', task: 'a' },
        { type: 'complete', task: 'b', message: 'Saved 200 rows' },
      ],
      T0,
    );
    const [a, b] = toSnapshot(s, T0).tasks;
    expect(a?.message).toBeUndefined();
    expect(b).toMatchObject({ message: 'Saved 200 rows', level: 'info' });
  });

  it('never changes the session it is given (stores and viewers share it), whatever the events', () => {
    const deepFreeze = <T>(value: T): T => {
      if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const inner of Object.values(value)) deepFreeze(inner);
      }
      return value;
    };
    const started = deepFreeze(applyEvents(two(), [{ type: 'percent', task: 'a', value: 10 }], T0));
    const batches: Parameters<typeof applyEvents>[1][] = [
      [{ type: 'start', task: 'b' }],
      [
        { type: 'steps', task: 'a', done: 3, total: 10 },
        { type: 'steps', task: 'b', done: 1, total: 4 },
      ],
      [
        { type: 'message', task: 'a', text: 'm', level: 'warning' },
        { type: 'log', lines: ['x', 'y'] },
      ],
      [{ type: 'stage', name: 'Load' }, { type: 'retry', task: 'a', attempt: 2 }, { type: 'heartbeat' }],
      [{ type: 'result', data: { n: 1 }, artifacts: [{ name: 'r.csv', url: 'https://x/r.csv' }] }],
      [
        { type: 'complete', task: 'a' },
        { type: 'complete', task: 'b' },
      ],
      [{ type: 'error', task: 'a', message: 'boom' }],
      [{ type: 'error', message: 'all down' }],
      [{ type: 'cancelled' }],
      [{ type: 'chain', next: 's2' }],
    ];
    for (const events of batches) {
      // A frozen input throws on any write (modules run in strict mode).
      const next = applyEvents(started, events, T0 + 5);
      expect(next.version).toBe(started.version + 1);
      expect(next).not.toBe(started);
    }
    expect(() => applyEvents(started, [{ type: 'percent', task: 'nope', value: 1 }], T0 + 5)).toThrow(LiveopError);
  });

  it('starts a new stage with a fresh count: the bar back at 0 shows no count from the stage before', () => {
    const counted = applyEvents(
      two(),
      [
        { type: 'stage', name: 'Load' },
        { type: 'steps', task: 'a', done: 40, total: 40, unit: 'rows' },
      ],
      T0,
    );
    expect(toSnapshot(counted, T0).tasks[0]).toMatchObject({ done: 40, total: 40, unit: 'rows' });
    const next = toSnapshot(applyEvents(counted, [{ type: 'stage', name: 'Save' }], T0 + 1), T0 + 1).tasks[0]!;
    expect(next.percent).toBe(0);
    expect(next).not.toHaveProperty('done');
    expect(next).not.toHaveProperty('total');
  });

  it('raises the version by one per batch and keeps log seq monotonic', () => {
    let s = two();
    s = applyEvents(s, [{ type: 'log', lines: ['a', 'b'] }], T0);
    s = applyEvents(s, [{ type: 'log', line: 'c' }], T0 + 1);
    expect(s.version).toBe(3);
    expect(toSnapshot(s, T0 + 1).logs.map((l) => [l.seq, l.line])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    expect(logSeqAtVersion(s, 2)).toBe(2);
  });

  it('retains only the newest logLimit lines, in order', () => {
    let s = two();
    for (let i = 0; i < 1_200; i++) s = applyEvents(s, [{ type: 'log', line: `l${i}` }], T0 + i);
    const logs = toSnapshot(s, T0 + 2_000).logs;
    expect(logs).toHaveLength(1_000);
    expect(logs[0]!.seq).toBe(201);
    expect(logs.at(-1)!.seq).toBe(1_200);
    expect(toSnapshot(s, T0 + 2_000, { logAfter: 1_198 }).logs.map((l) => l.seq)).toEqual([1_199, 1_200]);
  });

  it('turns steps into a percent and shows done / total', () => {
    const s = applyEvents(two(), [{ type: 'steps', task: 'a', done: 250, total: 1_000 }], T0);
    expect(toSnapshot(s, T0).tasks[0]).toMatchObject({ percent: 25, done: 250, total: 1_000, status: 'running' });
  });

  it('aggregates status by precedence and percent by weight', () => {
    let s = createSession(
      's',
      {
        tasks: [
          { id: 'a', name: 'A', weight: 3 },
          { id: 'b', name: 'B' },
        ],
      },
      T0,
    );
    expect(toSnapshot(s, T0).status).toBe('pending');
    s = applyEvents(s, [{ type: 'percent', task: 'a', value: 40 }], T0);
    expect(toSnapshot(s, T0)).toMatchObject({ status: 'running', percent: 30 });
    s = applyEvents(s, [{ type: 'complete', task: 'a' }], T0 + 1);
    expect(toSnapshot(s, T0 + 1)).toMatchObject({ status: 'running', percent: 75, finishedAt: null });
    s = applyEvents(s, [{ type: 'complete', task: 'b' }], T0 + 600);
    expect(toSnapshot(s, T0 + 600)).toMatchObject({ status: 'complete', percent: 100, etaMs: 0 });
  });

  it('refuses events once the session has ended, with 409', () => {
    const s = applyEvents(two(), [{ type: 'error', message: 'boom' }], T0);
    expect(toSnapshot(s, T0)).toMatchObject({ status: 'error', error: { message: 'boom' } });
    try {
      applyEvents(s, [{ type: 'log', line: 'late' }], T0 + 1);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(LiveopError);
      expect((error as LiveopError).kind).toBe('conflict');
    }
  });

  it('says stalled after stallAfterMs without an event, with how long', () => {
    const s = applyEvents(two(), [{ type: 'percent', task: 'a', value: 5 }], T0);
    expect(toSnapshot(s, T0 + 29_999).tasks[0]!.stalled).toBe(false);
    expect(toSnapshot(s, T0 + 30_000).tasks[0]).toMatchObject({ stalled: true, idleMs: 30_000, etaMs: null });
    const beat = applyEvents(s, [{ type: 'heartbeat', task: 'a' }], T0 + 30_000);
    expect(toSnapshot(beat, T0 + 30_001).tasks[0]!.stalled).toBe(false);
  });

  it('fails a session whose worker went silent for deadAfterMs, and keeps it readable after', () => {
    const s = applyEvents(two(), [{ type: 'start', task: 'a' }], T0);
    expect(toSnapshot(s, T0 + 599_999).status).toBe('running');
    const dead = toSnapshot(s, T0 + 600_000);
    expect(dead.status).toBe('error');
    expect(dead.error!.message).toMatch(/worker was lost/);
    expect(dead.tasks[0]!.status).toBe('error');
    expect(retentionMs(s, T0)).toBe(600_000 + 300_000);
  });

  it('marks a requested cancel as cancelled itself once the grace period is over', () => {
    const s = requestCancel(applyEvents(two(), [{ type: 'start', task: 'a' }], T0), T0 + 1);
    expect(toSnapshot(s, T0 + 2)).toMatchObject({ status: 'running', cancelRequested: true });
    const later = toSnapshot(s, T0 + 30_001);
    expect(later.status).toBe('cancelled');
    expect(later.tasks.map((t) => t.status)).toEqual(['cancelled', 'cancelled']);
  });

  it('finishes a chained session and points viewers at the next one', () => {
    const s = applyEvents(two(), [{ type: 'chain', next: 'other' }], T0, {
      resolveNext: (id) => ({ id, streamUrl: `/sessions/${id}/stream`, viewerToken: 't' }),
    });
    const snap = toSnapshot(s, T0 + 1_000);
    expect(snap.status).toBe('complete');
    expect(snap.next).toEqual({ id: 'other', streamUrl: '/sessions/other/stream', viewerToken: 't' });
  });

  it('gives a session without tasks one task named after its title', () => {
    const s = createSession('s', { title: 'Report' }, T0);
    expect(toSnapshot(s, T0).tasks).toMatchObject([{ id: 'main', name: 'Report' }]);
  });
});

describe('errors', () => {
  it('fails the erring task and marks the others that were running as interrupted (cancelled)', () => {
    let s = createSession('s', { tasks: { a: 'A', b: 'B', c: 'C' } }, T0);
    s = applyEvents(
      s,
      [
        { type: 'start', task: 'a' },
        { type: 'start', task: 'b' },
      ],
      T0,
    );
    s = applyEvents(s, [{ type: 'error', task: 'b', message: '502' }], T0 + 1);
    const snap = toSnapshot(s, T0 + 2);
    expect(snap.status).toBe('error');
    expect(snap.tasks.map((t) => t.status)).toEqual(['cancelled', 'error', 'pending']);
  });

  it('fails every running task on a session-wide error', () => {
    let s = createSession('s', { tasks: { a: 'A', b: 'B' } }, T0);
    s = applyEvents(
      s,
      [
        { type: 'start', task: 'a' },
        { type: 'error', message: 'out of memory' },
      ],
      T0,
    );
    expect(toSnapshot(s, T0).tasks.map((t) => t.status)).toEqual(['error', 'pending']);
  });
});
