/**
 * What `<live-operation>` shows, as plain data in Node (no browser): the view
 * model `operationView` makes of a snapshot, the element's state, the time
 * and the strings, and how `track` carries the bars from one snapshot to the
 * next. The browser tests (live-operation.test.ts) check the same on screen.
 */
import { describe, expect, it } from 'vitest';
import type { SessionStatus, Snapshot, TaskSnapshot } from '../../protocol/index.ts';
import { operationView, type Progress, track, type ViewState } from '../../widget/operation-view.ts';
import { resultView } from '../../widget/result-view.ts';
import { snapshot as fed } from './browser.ts';

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

/** A running session 42 s in, at 40%. */
function snapshot(fields: Partial<Snapshot> = {}): Snapshot {
  return fed({
    id: 's1',
    title: 'Import',
    percent: 40,
    createdAt: iso(NOW - 60_000),
    startedAt: iso(NOW - 42_000),
    expiresAt: iso(NOW + 3_600_000),
    ...fields,
  });
}

function task(fields: Partial<TaskSnapshot> = {}): TaskSnapshot {
  return {
    id: 't1',
    name: 'Rows',
    status: 'running',
    percent: 30,
    simulated: false,
    stalled: false,
    etaMs: null,
    ...fields,
  };
}

/** The element's state around `shown` (also the latest), with the bars as `track` leaves them. */
function state(shown: Snapshot | undefined, fields: Partial<ViewState> = {}): ViewState {
  return {
    snapshot: shown,
    latest: shown,
    peaks: shown ? track(undefined, shown).progress.peaks : {},
    logs: [],
    mayCancel: true,
    logOrder: 'oldest-first',
    logMode: 'all',
    base: 'https://liveop.example/',
    ...fields,
  };
}

const view = (shown: Snapshot | undefined, fields: Partial<ViewState> = {}, lang = 'en') =>
  operationView(state(shown, fields), NOW, {}, lang);

describe('the view of each status', () => {
  it.each([
    ['pending', 'Waiting to start', { kind: 'cancel', label: 'Cancel' }],
    ['running', 'Running', { kind: 'cancel', label: 'Cancel' }],
    ['complete', 'Complete', undefined],
    ['error', 'Failed', undefined],
    ['cancelled', 'Cancelled', undefined],
  ] as const)(
    '%s: the badge says "%s", and cancelling is offered only while it has not ended',
    (status, badge, actions) => {
      const shown = view(snapshot({ status, percent: status === 'complete' ? 100 : 40 }));
      expect(shown.status).toBe(status);
      expect(shown.badge).toBe(badge);
      expect(shown.actions).toEqual(actions);
      expect(shown.overall.valueText).toBe(`${status === 'complete' ? '100' : '40'}%, ${badge}`);
    },
  );

  it('shows a status it does not know (from a newer server) as it is', () => {
    const shown = view(snapshot({ status: 'paused' as SessionStatus }));
    expect(shown.badge).toBe('paused');
    expect(shown.overall.valueText).toBe('40%, paused');
  });

  it('before any snapshot: busy, untitled, waiting, at 0, with nothing else to show', () => {
    expect(view(undefined)).toMatchObject({
      problemOnly: false,
      busy: true,
      title: 'Operation',
      status: 'pending',
      badge: 'Waiting to start',
      overall: { percent: 0, text: '0%', label: 'Operation' },
      stages: [],
      tasks: [],
      meta: '',
      actions: undefined,
      log: undefined,
      result: undefined,
    });
  });

  it('refused before any snapshot: only why', () => {
    expect(view(undefined, { problem: 'Unknown session' })).toMatchObject({
      problemOnly: true,
      problem: 'Unknown session',
    });
  });

  it('says the queue position while the work waits in a queue', () => {
    expect(view(snapshot({ status: 'pending', queuePosition: 3 })).badge).toBe('Queued (#3)');
  });

  it('shows the error, not a message that went stale with it', () => {
    const shown = view(
      snapshot({
        status: 'error',
        error: { code: 'failed', message: 'disk full' } as Snapshot['error'],
        message: { text: 'writing rows', level: 'info' },
      }),
    );
    expect(shown.problem).toBe('disk full');
    expect(shown.message).toBeUndefined();
  });

  it('shows elapsed time from start to finish once it ended, and no ETA', () => {
    const shown = view(snapshot({ status: 'complete', percent: 100, finishedAt: iso(NOW - 12_000) }), {
      etaAt: NOW + 60_000,
    });
    expect(shown.meta).toBe('30 sec elapsed');
  });

  it('shows elapsed time and the ETA while it runs', () => {
    expect(view(snapshot(), { etaAt: NOW + 125_000 }).meta).toBe('42 sec elapsed · about 2 min left');
    expect(view(snapshot(), { etaAt: NOW - 1 }).meta).toBe('42 sec elapsed');
    expect(view(snapshot(), { etaAt: undefined }).meta).toBe('42 sec elapsed');
  });

  it('says when live updates are delayed, or the server is unreachable, and why cancelling failed', () => {
    expect(view(snapshot(), { connection: 'reconnecting' }).meta).toBe('42 sec elapsed · Reconnecting…');
    expect(view(snapshot(), { connection: 'polling' }).meta).toBe('42 sec elapsed · Live updates delayed');
    expect(view(snapshot(), { connection: 'reconnecting', unreachable: true }).meta).toMatch(/Server unreachable/);
    expect(view(snapshot(), { connection: 'live', cancelError: 'Could not cancel (409)' }).meta).toBe(
      '42 sec elapsed · Could not cancel (409)',
    );
  });
});

describe('the view of tasks', () => {
  it('shows none for a session without tasks', () => {
    expect(view(snapshot({ tasks: [] })).tasks).toEqual([]);
  });

  it('gives each task its icon, bar, steps with their unit, and message', () => {
    const [shown] = view(
      snapshot({ tasks: [task({ done: 1200, total: 4000, unit: 'rows', message: 'copying' })] }),
    ).tasks;
    expect(shown).toEqual({
      task: expect.objectContaining({ id: 't1', name: 'Rows' }),
      icon: '●',
      bar: { percent: 30, text: '30%', label: 'Rows', valueText: '30%, Running' },
      detail: '1,200 / 4,000 rows · copying',
    });
  });

  it.each([
    ['pending', '○'],
    ['running', '●'],
    ['complete', '✓'],
    ['error', '✕'],
    ['cancelled', '–'],
  ] as const)('the icon of a task %s is %s', (status, icon) => {
    expect(view(snapshot({ tasks: [task({ status })] })).tasks[0]?.icon).toBe(icon);
  });

  it('says a retry and its attempt', () => {
    expect(view(snapshot({ tasks: [task({ attempt: 2 })] })).tasks[0]?.detail).toBe('retry 2');
  });

  it('says how long a stalled task has had no update', () => {
    const [shown] = view(snapshot({ tasks: [task({ stalled: true, idleMs: 95_000 })] })).tasks;
    expect(shown).toMatchObject({ task: { stalled: true }, detail: 'no update for 2 min' });
  });

  it('calls an estimated percent an estimate', () => {
    expect(view(snapshot({ tasks: [task({ simulated: true })] })).tasks[0]?.bar.valueText).toBe('about 30%, Running');
  });

  it("leaves a failed task's message to the error panel", () => {
    const [shown] = view(snapshot({ tasks: [task({ status: 'error', message: 'disk full' })] })).tasks;
    expect(shown?.detail).toBe('');
  });

  it('shows the latest message unless a task row already says it, with its level in words', () => {
    const message = { text: 'copying', level: 'warning' as const };
    expect(view(snapshot({ message })).message).toEqual({ text: 'copying', level: 'warning', label: 'Warning' });
    expect(view(snapshot({ message: { text: 'copying', level: 'info' } })).message).toEqual({
      text: 'copying',
      level: 'info',
      label: undefined,
    });
    expect(view(snapshot({ message, tasks: [task({ message: 'copying' })] })).message).toBeUndefined();
  });

  it('shows the stages as the server sent them', () => {
    const stages = [
      { name: 'Fetch', state: 'done' as const },
      { name: 'Load', state: 'active' as const },
      { name: 'Index', state: 'pending' as const },
    ];
    expect(view(snapshot({ stages })).stages).toEqual(stages);
  });
});

describe('the cancel controls', () => {
  it('offer cancel, then ask to confirm, then say cancelling', () => {
    expect(view(snapshot()).actions).toEqual({ kind: 'cancel', label: 'Cancel' });
    expect(view(snapshot(), { confirming: true }).actions).toEqual({
      kind: 'confirm',
      label: 'Yes, cancel it',
      keep: 'Keep running',
    });
    expect(view(snapshot(), { cancelling: true }).actions).toEqual({ kind: 'cancelling', label: 'Cancelling…' });
  });

  it('say cancelling, on the badge too, once the server has the request', () => {
    const shown = view(snapshot({ cancelRequested: true }));
    expect(shown.actions).toEqual({ kind: 'cancelling', label: 'Cancelling…' });
    expect(shown.badge).toBe('Cancelling…');
    expect(view(snapshot({ cancelRequested: true, status: 'cancelled' })).badge).toBe('Cancelled');
  });

  it('are not offered when the token may not cancel, or the session cannot be shown', () => {
    expect(view(snapshot(), { mayCancel: false }).actions).toBeUndefined();
    expect(view(snapshot(), { problem: 'No longer available' }).actions).toBeUndefined();
  });

  it('follow the latest snapshot, not the one the closing ramp still draws', () => {
    const before = snapshot();
    const after = snapshot({ status: 'complete', percent: 100 });
    expect(view(before, { latest: after }).actions).toBeUndefined();
  });
});

describe('the closing ramp', () => {
  it('starts when a bar reaches 100 from below, and not when it was there already', () => {
    const first = track(undefined, snapshot({ percent: 40, tasks: [task({ percent: 45 })] }));
    expect(first.closing).toBe(false);
    const done = track(
      first.progress,
      snapshot({ status: 'complete', percent: 100, tasks: [task({ status: 'complete', percent: 100 })] }),
    );
    expect(done).toEqual({ progress: { id: 's1', run: '0 ', peaks: { t1: 100, '': 100 } }, closing: true });
    expect(track(done.progress, snapshot({ status: 'complete', percent: 100, version: 3 })).closing).toBe(false);
  });

  it('does not ramp a session that arrives complete', () => {
    expect(track(undefined, snapshot({ status: 'complete', percent: 100 })).closing).toBe(false);
  });

  it('draws the bar at 100 while the rest, still the snapshot before, says running', () => {
    const before = snapshot({ percent: 45 });
    const after = snapshot({ status: 'complete', percent: 100 });
    const { progress } = track(track(undefined, before).progress, after);
    const shown = view(before, { latest: after, peaks: progress.peaks });
    expect(shown).toMatchObject({ status: 'running', badge: 'Running', overall: { percent: 100, text: '100%' } });
  });
});

describe('the bars from snapshot to snapshot', () => {
  const at = (progress: Progress | undefined, fields: Partial<Snapshot>) => track(progress, snapshot(fields)).progress;

  it('never go back within a stage and an attempt', () => {
    const up = at(undefined, { percent: 60, tasks: [task({ percent: 60 })] });
    expect(at(up, { percent: 50, tasks: [task({ percent: 55 })] }).peaks).toEqual({ t1: 60, '': 60 });
  });

  it('may go back when a new stage begins, or a task starts another attempt', () => {
    const stages = [{ name: 'A', state: 'active' as const }];
    const up = at(undefined, { percent: 60, stages, tasks: [task({ percent: 60 })] });
    const next = [
      { name: 'A', state: 'done' as const },
      { name: 'B', state: 'active' as const },
    ];
    expect(at(up, { percent: 10, stages: next, tasks: [task({ percent: 10 })] }).peaks).toEqual({ t1: 10, '': 10 });
    expect(at(up, { percent: 5, stages, tasks: [task({ percent: 5, attempt: 1 })] }).peaks).toEqual({ t1: 5, '': 5 });
  });

  it('start afresh for another session', () => {
    const up = at(undefined, { percent: 60 });
    expect(at(up, { id: 's2', percent: 10 }).peaks).toEqual({ '': 10 });
  });
});

describe('the result and the log', () => {
  /** The result panel as the chunk that draws it sees it (none: no panel). */
  const result = (shown: Snapshot) => {
    const source = view(shown).result;
    return source && resultView(source);
  };

  it('lists an object result as keys and values, values that are not strings as JSON', () => {
    const shown = result(
      snapshot({ status: 'complete', percent: 100, result: { rows: 42, file: 'a.csv', tags: ['x'] } }),
    );
    expect(shown).toEqual({
      entries: [
        ['rows', '42'],
        ['file', 'a.csv'],
        ['tags', '["x"]'],
      ],
      artifacts: [],
    });
  });

  it('shows any other result as text, and no result panel while there is none', () => {
    expect(result(snapshot({ status: 'complete', percent: 100, result: 42 }))).toEqual({
      text: '42',
      artifacts: [],
    });
    expect(result(snapshot({ status: 'complete', percent: 100 }))).toEqual({ artifacts: [] });
    expect(result(snapshot())).toBeUndefined();
  });

  it('links only http(s) artifacts, resolved against the server', () => {
    const artifacts = [
      { name: 'report', url: '/files/report.pdf' },
      { name: 'evil', url: 'javascript:alert(1)' },
      { name: 'notes', text: 'line 1' },
    ];
    expect(result(snapshot({ artifacts }))?.artifacts).toEqual([
      { name: 'report', url: 'https://liveop.example/files/report.pdf', text: undefined },
      { name: 'evil', url: undefined, text: undefined },
      { name: 'notes', url: undefined, text: 'line 1' },
    ]);
  });

  const logs = [1, 2, 3].map((seq) => ({ seq, at: iso(NOW), line: `line ${seq}` }));

  it('shows the log with its count, oldest or newest first', () => {
    expect(view(snapshot(), { logs }).log).toEqual({
      kind: 'all',
      toggle: 'Log (3)',
      lines: ['line 1', 'line 2', 'line 3'],
      newestFirst: false,
    });
    expect(view(snapshot(), { logs, logOrder: 'newest-first' }).log).toMatchObject({
      lines: ['line 3', 'line 2', 'line 1'],
      newestFirst: true,
    });
    expect(logs.map((l) => l.line)).toEqual(['line 1', 'line 2', 'line 3']);
  });

  it('shows only the newest line in latest mode, and no log without lines', () => {
    expect(view(snapshot(), { logs, logMode: 'latest' }).log).toEqual({ kind: 'latest', line: 'line 3' });
    expect(view(snapshot(), { logs: [] }).log).toBeUndefined();
  });
});

describe('strings', () => {
  const hostile = '<img src=x onerror=alert(1)>{percent}';

  it('keeps hostile names, titles, messages, logs and results as the strings they are', () => {
    const shown = view(
      snapshot({
        title: hostile,
        message: { text: hostile, level: 'info' },
        tasks: [task({ name: hostile, message: `${hostile}!` })],
        stages: [{ name: hostile, state: 'active' }],
        result: { [hostile]: hostile },
        artifacts: [{ name: hostile, text: hostile }],
      }),
      { logs: [{ seq: 1, at: iso(NOW), line: hostile }] },
    );
    expect(shown.title).toBe(hostile);
    expect(shown.overall.label).toBe(hostile);
    expect(shown.message?.text).toBe(hostile);
    expect(shown.tasks[0]).toMatchObject({ task: { name: hostile }, detail: `${hostile}!`, bar: { label: hostile } });
    expect(shown.stages[0]?.name).toBe(hostile);
    expect(shown.result && resultView(shown.result)).toEqual({
      entries: [[hostile, hostile]],
      artifacts: [{ name: hostile, text: hostile }],
    });
    expect(shown.log).toMatchObject({ lines: [hostile] });
  });

  it('takes overridden strings and formats numbers for the language', () => {
    const shown = operationView(
      state(snapshot({ percent: 42, tasks: [task({ done: 1200, total: 4000 })] })),
      NOW,
      { running: 'Läuft', cancel: 'Abbrechen', steps: '{done} von {total}' },
      'de',
    );
    expect(shown.badge).toBe('Läuft');
    // (German puts a no-break space before the percent sign.)
    expect(shown.overall).toMatchObject({ text: '42\u00a0%', valueText: '42\u00a0%, Läuft' });
    expect(shown.tasks[0]?.detail).toBe('1.200 von 4.000');
    expect(shown.actions).toEqual({ kind: 'cancel', label: 'Abbrechen' });
  });
});
