/** The text view on its own: pairs of snapshots in, lines out. */
import { describe, expect, it } from 'vitest';
import { createSession } from '../../../server/core/model.ts';
import { applyEvents } from '../../../server/core/reducer.ts';
import { toSnapshot } from '../../../server/core/snapshot.ts';
import type { ProgressEvent, Snapshot } from '../../../server/protocol/index.ts';
import { textLines } from '../../../server/text/text-view.ts';

const T0 = 1_700_000_000_000;

/** Snapshots after each batch, as a viewer would see them. */
function run(...batches: ProgressEvent[][]): Snapshot[] {
  let session = createSession('s1', { title: 'Import', tasks: { a: 'Load rows' }, stages: ['Load', 'Save'] }, T0, {
    rampMs: 0,
  });
  const out = [toSnapshot(session, T0)];
  batches.forEach((events, i) => {
    session = applyEvents(session, events, T0 + (i + 1) * 1_000);
    out.push(toSnapshot(session, T0 + (i + 1) * 1_000, { logAfter: out.at(-1)!.logSeq }));
  });
  return out;
}

const printed = (snapshots: Snapshot[]) => snapshots.flatMap((s, i) => textLines(snapshots[i - 1] ?? null, s));

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

  it('prints the error of a failed session and where a chained one continues', () => {
    const failed = printed(run([{ type: 'error', task: 'a', message: 'disk full' }]));
    expect(failed).toContain('  error: disk full');
    expect(failed).toContain('ERROR 0%');
    const chained = printed(run([{ type: 'chain', next: 's2' }]));
    expect(chained.at(-1)).toBe('  continues in s2');
  });
});
