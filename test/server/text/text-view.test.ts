/** The text view on its own: pairs of snapshots in, lines out. */
import { describe, expect, it } from 'vitest';
import type { ProgressEvent, Snapshot } from '../../../protocol/index.ts';
import { createSession } from '../../../server/core/model.ts';
import { applyEvents } from '../../../server/core/reducer.ts';
import { toSnapshot } from '../../../server/core/snapshot.ts';
import { printSnapshots, textFrames, textLines } from '../../../server/text/text-view.ts';

const T0 = 1_700_000_000_000;

/** Snapshots after each batch, as a viewer would see them. */
function run(...batches: ProgressEvent[][]): Snapshot[] {
  let session = createSession('s1', { title: 'Import', tasks: { a: 'Load rows' }, stages: ['Load', 'Save'] }, T0);
  const out = [toSnapshot(session, T0)];
  batches.forEach((events, i) => {
    session = applyEvents(session, events, T0 + (i + 1) * 1_000);
    out.push(toSnapshot(session, T0 + (i + 1) * 1_000, { logAfter: out.at(-1)!.logSeq }));
  });
  return out;
}

/** What the text view prints for these snapshots, closing ramps included. */
const printed = (snapshots: Snapshot[]) => {
  let previous: Snapshot | null = null;
  return snapshots.flatMap((current) =>
    textFrames(previous, current).flatMap((frame) => {
      const lines = textLines(previous, frame);
      previous = frame;
      return lines;
    }),
  );
};

describe('the text view', () => {
  it('prints a header, each stage once, a task each tenth it crosses, each log line once, and the end', () => {
    const lines = printed(
      run(
        [
          { type: 'stage', name: 'Load' },
          { type: 'percent', task: 'a', value: 12 },
          { type: 'log', line: 'read 10' },
        ],
        [{ type: 'percent', task: 'a', value: 15 }],
        [
          { type: 'percent', task: 'a', value: 31 },
          { type: 'stage', name: 'Save' },
        ],
        [
          { type: 'result', data: { rows: 10 } },
          { type: 'complete', task: 'a' },
        ],
      ),
    );
    expect(lines[0]).toBe('Import (s1)');
    expect(lines.filter((l) => l === '== Load ==')).toHaveLength(1);
    expect(lines.filter((l) => l === '== Save ==')).toHaveLength(1);
    expect(lines.filter((l) => l.includes('| read 10'))).toHaveLength(1);
    // 12 and 15 are in the same tenth: one line for both.
    expect(lines.filter((l) => /\b1[25]% Load rows: running/.test(l))).toHaveLength(1);
    expect(lines.slice(-2)).toEqual(['COMPLETE 100%', '  rows: 10']);
  });

  it('eases a completed bar to 100 through the tenths it crosses, then prints it complete', () => {
    const lines = printed(
      run(
        [{ type: 'percent', task: 'a', value: 40 }],
        [
          { type: 'log', line: 'saved' },
          { type: 'complete', task: 'a' },
        ],
      ),
    );
    const bars = lines.filter((l) => l.includes('Load rows')).map((l) => /(\d+)% Load rows: (\w+)/.exec(l)!.slice(1));
    expect(bars.slice(0, 2)).toEqual([
      ['0', 'pending'],
      ['40', 'running'],
    ]);
    expect(bars.at(-1)).toEqual(['100', 'complete']);
    const ramp = bars.slice(2, -1);
    expect(ramp.length).toBeGreaterThan(1);
    expect(
      ramp.every(([percent, status]) => Number(percent) > 40 && Number(percent) < 100 && status === 'running'),
    ).toBe(true);
    expect(lines.filter((l) => l.includes('| saved'))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('COMPLETE'))).toEqual(['COMPLETE 100%']);
  });

  it('takes ~400 ms of its clock over the ramp, and none when nothing completes', async () => {
    const snapshots = run([{ type: 'percent', task: 'a', value: 40 }], [{ type: 'complete', task: 'a' }]);
    const waits: number[] = [];
    async function* stream() {
      yield* snapshots;
    }
    const last = await printSnapshots(
      stream(),
      () => {},
      async (ms) => waits.push(ms),
    );
    expect(waits.reduce((sum, ms) => sum + ms, 0)).toBe(400);
    expect(last).toBe(snapshots.at(-1));
    waits.length = 0;
    await printSnapshots(
      (async function* () {
        yield* snapshots.slice(0, 2);
      })(),
      () => {},
      async (ms) => waits.push(ms),
    );
    expect(waits).toEqual([]);
  });

  it('prints the error of a failed session and where a chained one continues', () => {
    const failed = printed(run([{ type: 'error', task: 'a', message: 'disk full' }]));
    expect(failed).toContain('  error: disk full');
    expect(failed).toContain('ERROR 0%');
    const chained = printed(run([{ type: 'chain', next: 's2' }]));
    expect(chained.at(-1)).toBe('  continues in s2');
  });
});

describe('output streams in text mode', () => {
  it('prints a stream a whole line at a time under its name, the rest of the last line at the end', async () => {
    let session = createSession('s1', { title: 'Answer' }, T0);
    const snapshots: Snapshot[] = [];
    let ends: Record<string, number> = {};
    for (const events of [
      [{ type: 'output', stream: 'answer', text: 'Hello, ' }],
      [
        { type: 'output', stream: 'answer', text: 'world.\nSecond' },
        { type: 'output', stream: 'rows', data: { n: 1 } },
      ],
      [
        { type: 'output', stream: 'answer', text: ' line' },
        { type: 'complete', task: 'main' },
      ],
    ] as ProgressEvent[][]) {
      session = applyEvents(session, events, T0);
      snapshots.push(toSnapshot(session, T0, { outputAfter: ends }));
      ends = Object.fromEntries(
        Object.entries(session.outputs!).map(([n, o]) => [n, o.dropped + (o.text ?? o.data!).length]),
      );
    }
    let out = '';
    await printSnapshots(
      (async function* () {
        yield* snapshots;
      })(),
      (text) => {
        out += text;
      },
      async () => {},
    );
    const printedOutput = out.split('\n').filter((line) => line.includes('> '));
    expect(printedOutput).toEqual(['  answer> Hello, world.', '  rows> {"n":1}', '  answer> Second line']);
  });
});

describe('the text view in another language', () => {
  it('says statuses in the catalogue’s words and counts in the language’s numbers', async () => {
    const { default: de } = await import('../../../protocol/locales/de.ts');
    const snapshots = run(
      [{ type: 'steps', task: 'a', done: 4500, total: 10000 }],
      [{ type: 'retry', task: 'a', attempt: 2 }],
      [{ type: 'complete', task: 'a' }],
    );
    let previous: Snapshot | null = null;
    const lines = snapshots.flatMap((current) => {
      const out = textLines(previous, current, { lang: 'de', catalogue: de });
      previous = current;
      return out;
    });
    expect(lines.join('\n')).toContain(`Load rows: ${de.running} 4.500/10.000`);
    expect(lines.join('\n')).toContain('(Versuch 2)');
    expect(lines.join('\n')).toContain(`${de.complete.toUpperCase()} 100%`);
  });
});
