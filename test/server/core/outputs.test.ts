import { describe, expect, it } from 'vitest';
import { appendOutput, LIMITS } from '../../../protocol/index.ts';
import { createSession } from '../../../server/core/model.ts';
import { outputEndsAtVersion } from '../../../server/core/outputs.ts';
import { applyEvents } from '../../../server/core/reducer.ts';
import { toSnapshot } from '../../../server/core/snapshot.ts';

const T0 = 1_700_000_000_000;
const fresh = () => createSession('s1', { title: 'Answer' }, T0);
const out = (stream: string, text: string) => ({ type: 'output' as const, stream, text });

describe('output streams in the model', () => {
  it('appends a batch atomically: a bad event leaves every stream as it was', () => {
    const s = applyEvents(fresh(), [out('answer', 'Hello')], T0);
    expect(() => applyEvents(s, [out('answer', ', world'), { type: 'percent', task: 'nope', value: 1 }], T0)).toThrow(
      /unknown task/,
    );
    expect(toSnapshot(s, T0).outputs).toEqual({ answer: { offset: 0, text: 'Hello' } });
  });

  it('keeps the session within its bound by dropping the oldest text of the stream being written', () => {
    const big = 'a'.repeat(LIMITS.outputLength);
    let s = fresh();
    for (const name of ['one', 'two', 'three', 'four']) s = applyEvents(s, [out(name, big)], T0);
    s = applyEvents(s, [out('five', 'b'.repeat(1000))], T0);
    const outputs = toSnapshot(s, T0).outputs!;
    expect(outputs.one).toEqual({ offset: 0, text: big });
    expect(outputs.five).toEqual({ offset: 1000, text: '', dropped: 1000 });
    const total = Object.values(outputs).reduce((n, o) => n + o.text!.length, 0);
    expect(total).toBe(LIMITS.sessionOutputLength);
  });

  it('never splits a character made of two code units when it drops text', () => {
    const s = applyEvents(fresh(), [out('answer', `😀${'y'.repeat(LIMITS.outputLength - 1)}`)], T0);
    const answer = toSnapshot(s, T0).outputs!.answer!;
    expect(answer.dropped).toBe(2);
    expect(answer.text!.startsWith('y')).toBe(true);
  });

  it('knows where each stream stood at a past version, for a stream resumed after it', () => {
    let s = applyEvents(fresh(), [out('answer', 'ab')], T0); // v2
    s = applyEvents(s, [out('answer', 'cd'), out('notes', 'n')], T0); // v3
    s = applyEvents(s, [out('answer', 'ef')], T0); // v4
    expect(outputEndsAtVersion(s, 1)).toEqual({});
    expect(outputEndsAtVersion(s, 2)).toEqual({ answer: 2 });
    expect(outputEndsAtVersion(s, 3)).toEqual({ answer: 4, notes: 1 });
    expect(toSnapshot(s, T0, { outputAfter: { answer: 4, notes: 1 } }).outputs).toEqual({
      answer: { offset: 4, text: 'ef' },
    });
  });
});

describe('a viewer placing chunks by offset', () => {
  it('keeps text received twice once, and shows a gap the server dropped as a fresh start', () => {
    const held = appendOutput({ offset: 0, text: 'Hello' }, { offset: 3, text: 'lo, world' });
    expect(held).toEqual({ offset: 0, text: 'Hello, world' });
    expect(appendOutput(held, { offset: 5, text: ', w' })).toBe(held);
    expect(appendOutput(held, { offset: 20, text: 'later', dropped: 20 })).toEqual({
      offset: 20,
      text: 'later',
      dropped: 20,
    });
    expect(appendOutput({ offset: 0, data: [1] }, { offset: 0, data: [1, 2] })).toEqual({ offset: 0, data: [1, 2] });
  });
});
