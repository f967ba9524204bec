/**
 * The one way every client follows a stream, as plain numbers: no timers, no
 * network. The element, liveop/client and `liveop watch` drive these.
 */
import { describe, expect, it } from 'vitest';
import {
  classifyStatus,
  parseRetryAfter,
  SessionCursor,
  StreamFollower,
  scopeAllows,
  scopeOf,
  streamUrl,
  withCursor,
  withToken,
} from '../../protocol/index.ts';
import type { Snapshot } from '../../protocol/wire.ts';

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
/** Randomness pinned: 0 gives the shortest jittered wait (half the bound), 1 the longest. */
const lowest = () => 0;
const highest = () => 1;

describe('the statuses a follower reads, retries or gives up on', () => {
  it.each([
    [200, 'read'],
    [408, 'retry'],
    [425, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
    [400, 'refused'],
    [401, 'refused'],
    [403, 'refused'],
    [404, 'refused'],
  ] as const)('%i → %s', (status, meaning) => {
    expect(classifyStatus(status)).toBe(meaning);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates, bounded, and nothing else', () => {
    expect(parseRetryAfter('3', NOW)).toBe(3_000);
    expect(parseRetryAfter('1.5', NOW)).toBe(1_500);
    expect(parseRetryAfter(new Date(NOW + 7_000).toUTCString(), NOW)).toBe(7_000);
    expect(parseRetryAfter(new Date(NOW - 7_000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter('86400', NOW)).toBe(300_000);
    expect(parseRetryAfter('86400', NOW, 10_000)).toBe(10_000);
    expect(parseRetryAfter('soon', NOW)).toBeNull();
    expect(parseRetryAfter(null, NOW)).toBeNull();
    expect(parseRetryAfter('', NOW)).toBeNull();
  });
});

describe('a stream follower', () => {
  it('waits longer after each failure in a row, jittered between half and all of the bound, up to the most', () => {
    const low = new StreamFollower({ baseDelayMs: 500, maxDelayMs: 30_000 }, lowest);
    const high = new StreamFollower({ baseDelayMs: 500, maxDelayMs: 30_000 }, highest);
    const waits = (f: StreamFollower) =>
      Array.from({ length: 8 }, () => {
        f.opened(false);
        const action = f.dropped('error');
        return action.type === 'wait' ? action.ms : Number.NaN;
      });
    expect(waits(high)).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(waits(low)).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000]);
  });

  it('starts over once a connection hears a line', () => {
    const f = new StreamFollower({}, highest);
    f.opened(false);
    f.dropped('error');
    f.opened(false);
    f.dropped('error');
    expect(f.failures).toBe(2);
    f.opened(true);
    expect(f.heard()).toBe(45_000);
    expect(f.failures).toBe(0);
    expect(f.dropped('error')).toEqual({ type: 'wait', ms: 500 });
  });

  it('never comes back sooner than Retry-After, and obeys a date as well as seconds', () => {
    const f = new StreamFollower({}, lowest);
    f.opened(false);
    expect(f.refused(429, '12', NOW)).toEqual({ type: 'wait', ms: 12_000 });
    f.opened(false);
    expect(f.refused(503, new Date(NOW + 20_000).toUTCString(), NOW)).toEqual({ type: 'wait', ms: 20_000 });
    // A short Retry-After does not cut the backoff short.
    for (let i = 0; i < 5; i++) f.dropped('error');
    expect(f.refused(503, '1', NOW)).toEqual({ type: 'wait', ms: 15_000 });
  });

  it('gives up after its attempts in a row, naming why', () => {
    const f = new StreamFollower({ attempts: 2 }, lowest);
    expect(f.dropped('error').type).toBe('wait');
    expect(f.refused(503, null, NOW).type).toBe('wait');
    expect(f.dropped('silent')).toEqual({ type: 'stop', reason: 'the stream went silent', status: null });
  });

  it('stops on a refusal that trying again will not mend, unless it can poll each session', () => {
    const streaming = new StreamFollower();
    expect(streaming.refused(401, null, NOW)).toEqual({ type: 'stop', reason: 'the server answered 401', status: 401 });
    const polling = new StreamFollower({ firstLineMs: 4_000 });
    expect(polling.refused(404, null, NOW)).toEqual({ type: 'poll', ms: 0 });
  });

  it('reconnects at once when the server says it is going away, without counting a failure', () => {
    const f = new StreamFollower({}, highest);
    f.dropped('error');
    expect(f.dropped('reconnect')).toEqual({ type: 'connect' });
    expect(f.failures).toBe(0);
  });

  it('gives a fresh connection the first-line time, a resumed one the silence time, and polls a buffered stream', () => {
    const f = new StreamFollower({ firstLineMs: 4_000, silenceMs: 45_000 });
    expect(f.opened(false)).toBe(4_000);
    expect(f.dropped('silent')).toEqual({ type: 'poll', ms: 0 });
    expect(f.opened(true)).toBe(45_000);
    expect(f.dropped('silent').type).toBe('wait');
    // A connection that had lines and then went quiet is dead, not buffered.
    f.opened(false);
    f.heard();
    expect(f.dropped('silent').type).toBe('wait');
  });

  it('without a way to poll, waits the silence time from the start', () => {
    const f = new StreamFollower({ silenceMs: 45_000 });
    expect(f.opened(false)).toBe(45_000);
    expect(f.dropped('silent').type).toBe('wait');
  });
});

const snapshot = (version: number, seqs: number[], status: Snapshot['status'] = 'running'): Snapshot =>
  ({
    type: 'snapshot',
    id: 's1',
    version,
    status,
    logs: seqs.map((seq) => ({ seq, line: `line ${seq}`, level: 'info', at: '' })),
  }) as unknown as Snapshot;

describe('a session cursor', () => {
  it('delivers each log line once and never an older version, across a resumed stream', () => {
    const cursor = new SessionCursor();
    expect(cursor.started).toBe(false);
    expect(cursor.accept(snapshot(3, [1, 2]))?.logs.map((l) => l.seq)).toEqual([1, 2]);
    expect(cursor.accept(snapshot(5, [1, 2, 3]))?.logs.map((l) => l.seq)).toEqual([3]);
    // A reconnect may send the same version again, or an older one from a lagging instance.
    expect(cursor.accept(snapshot(5, [2, 3]))?.logs).toEqual([]);
    expect(cursor.accept(snapshot(4, [3]))).toBeNull();
    expect({ after: cursor.after, logAfter: cursor.logAfter, started: cursor.started }).toEqual({
      after: 5,
      logAfter: 3,
      started: true,
    });
    expect(cursor.ended).toBe(false);
    cursor.accept(snapshot(6, [3, 4], 'complete'));
    expect(cursor.ended).toBe(true);
  });

  it('starts from a given cursor', () => {
    const cursor = new SessionCursor({ after: 9, logAfter: 4 });
    expect(cursor.accept(snapshot(10, [3, 4, 5]))?.logs.map((l) => l.seq)).toEqual([5]);
  });
});

describe('URLs and scopes', () => {
  it('builds one session’s stream, several multiplexed, and resume cursors', () => {
    const base = 'https://h.example/progress';
    expect(String(streamUrl(base, [{ id: 'a b', token: 't1' }]))).toBe(
      'https://h.example/progress/sessions/a%20b/stream',
    );
    expect(String(streamUrl(base, [{ id: 'a', token: 't1', cursor: { after: 3, logAfter: 2 } }], true))).toBe(
      'https://h.example/progress/sessions/a/stream?token=t1&after=3&logAfter=2',
    );
    expect(
      String(
        streamUrl(base, [
          { id: 'a', token: 't1', cursor: { after: 3, logAfter: 2 } },
          { id: 'b', token: 't2' },
        ]),
      ),
    ).toBe(
      'https://h.example/progress/stream?session=a&token=t1&after=3&logAfter=2&session=b&token=t2&after=0&logAfter=0',
    );
    expect(String(withCursor(`${base}/sessions/a/stream`, { after: 0, logAfter: 0 }))).toBe(
      `${base}/sessions/a/stream`,
    );
    expect(withToken(`${base}/sessions/a`, 'x.y')).toBe(`${base}/sessions/a?token=x.y`);
    expect(withToken(`${base}/sessions/a`, '')).toBe(`${base}/sessions/a`);
  });

  it('reads a token’s scope for the page, and what each scope allows', () => {
    const token = (scope: string) => `${btoa(JSON.stringify({ sid: 's', scope, exp: 1 })).replace(/=+$/, '')}.mac`;
    expect(scopeOf(token('view+cancel'))).toBe('view+cancel');
    expect(scopeOf(token('admin'))).toBeNull();
    expect(scopeOf('not a token')).toBeNull();
    expect(scopeAllows('view', 'cancel')).toBe(false);
    expect(scopeAllows('view+cancel', 'cancel')).toBe(true);
    expect(scopeAllows('report', 'report')).toBe(true);
    expect(scopeAllows('view+cancel', 'report')).toBe(false);
  });
});
