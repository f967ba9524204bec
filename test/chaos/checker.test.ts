/**
 * The chaos run's history checker, on histories made by hand: it passes a
 * clean one and counts each kind of wrong (lost, doubled, out of order, a
 * viewer's repeat or gap, versions going back, a session left running).
 */
import { describe, expect, it } from 'vitest';
import { check, type Final } from './checker.ts';
import type { ReportedSession, SentLine } from './reporters.ts';
import type { ViewerRecord } from './viewers.ts';

const lines = (...states: SentLine['state'][]): SentLine[] =>
  states.map((state, i) => ({ text: `line ${i + 1}`, state }));
const session = (sent: SentLine[]): ReportedSession => ({
  id: 's1',
  viewerToken: 't',
  by: 'reporter 1',
  kind: 'reporter',
  lines: sent,
  completion: 'acked',
  startedAt: 0,
});
const final = (texts: string[], status = 'complete'): Final => ({
  status,
  logs: texts.map((line, i) => ({ seq: i + 1, line })),
  result: null,
  error: null,
});
const viewer = (seqs: number[], versions: number[], f: Final): ViewerRecord => ({
  name: 'viewer 1',
  kind: 'sse',
  sessionId: 's1',
  logs: seqs.map((seq) => ({ seq, line: f.logs.find((l) => l.seq === seq)?.line ?? '?' })),
  versions,
  connects: 2,
  stayed: true,
  failure: null,
  slowUntil: 0,
});
const counts = (v: ReturnType<typeof check>) => ({
  lost: v.lost,
  duplicated: v.duplicated,
  outOfOrder: v.outOfOrder,
  stuck: v.stuck,
});

describe('the history checker', () => {
  it('passes a history where every acknowledged line arrived once, in order, to the session and its viewer', () => {
    const f = final(['line 1', 'line 2', 'line 3']);
    const v = check(
      [session(lines('acked', 'acked', 'acked'))],
      new Map([['s1', f]]),
      [viewer([1, 2, 3], [1, 2, 4], f)],
      [],
    );
    expect({ ...counts(v), acknowledged: v.acknowledged, problems: v.problems }).toEqual({
      lost: 0,
      duplicated: 0,
      outOfOrder: 0,
      stuck: 0,
      acknowledged: 3,
      problems: [],
    });
  });

  it('lets a line that was never acknowledged be missing, but not doubled', () => {
    const sent = lines('acked', 'unknown', 'acked');
    expect(counts(check([session(sent)], new Map([['s1', final(['line 1', 'line 3'])]]), [], []))).toEqual({
      lost: 0,
      duplicated: 0,
      outOfOrder: 0,
      stuck: 0,
    });
    const doubled = final(['line 1', 'line 2', 'line 2', 'line 3']);
    expect(check([session(sent)], new Map([['s1', doubled]]), [], []).duplicated).toBe(1);
  });

  it('counts an acknowledged line that is missing as lost, and one applied twice as duplicated', () => {
    const sent = lines('acked', 'acked', 'acked');
    expect(counts(check([session(sent)], new Map([['s1', final(['line 1', 'line 3'])]]), [], []))).toMatchObject({
      lost: 1,
      duplicated: 0,
    });
    const twice = final(['line 1', 'line 2', 'line 3', 'line 3']);
    expect(check([session(sent)], new Map([['s1', twice]]), [], []).duplicated).toBe(1);
  });

  it('counts acknowledged lines stored in another order than sent, and gaps in the log seq', () => {
    const sent = lines('acked', 'acked', 'acked');
    expect(check([session(sent)], new Map([['s1', final(['line 1', 'line 3', 'line 2'])]]), [], []).outOfOrder).toBe(1);
    const gap: Final = {
      ...final(['line 1', 'line 2', 'line 3']),
      logs: [1, 2, 4].map((seq) => ({ seq, line: `line ${seq === 4 ? 3 : seq}` })),
    };
    expect(check([session(sent)], new Map([['s1', gap]]), [], []).lost).toBe(1);
  });

  it('counts what a viewer received twice, never received, or received out of order, and versions going back', () => {
    const f = final(['line 1', 'line 2', 'line 3']);
    const sessions = [session(lines('acked', 'acked', 'acked'))];
    const finals = new Map([['s1', f]]);
    expect(counts(check(sessions, finals, [viewer([1, 2, 2, 3], [1, 2], f)], []))).toMatchObject({ duplicated: 1 });
    expect(counts(check(sessions, finals, [viewer([1, 3], [1, 2], f)], []))).toMatchObject({ lost: 1 });
    expect(counts(check(sessions, finals, [viewer([2, 1, 3], [1, 2], f)], []))).toMatchObject({ outOfOrder: 1 });
    expect(counts(check(sessions, finals, [viewer([1, 2, 3], [1, 3, 2], f)], []))).toMatchObject({ outOfOrder: 1 });
  });

  it('counts a session still running at the end as stuck', () => {
    const v = check([session(lines('acked'))], new Map([['s1', final(['line 1'], 'running')]]), [], []);
    expect(v.stuck).toBe(1);
  });
});
