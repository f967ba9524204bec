/**
 * A session's output streams: appending a chunk (`output` events), keeping
 * each stream and the session within their bounds (the oldest text goes, and
 * `dropped` counts it), and what a viewer at some cursor is sent. Pure.
 *
 * Positions count UTF-16 code units of text, or chunks of a data stream; a
 * stream's end is `dropped` plus what it retains, and only ever grows.
 */
import { LIMITS, type OutputChunk } from '../../protocol/index.ts';
import { LiveopError } from './errors.ts';
import type { StoredOutput, StoredSession } from './model.ts';

/** Batches whose ends a stream remembers, for resuming `after` a version. */
const MARKS_KEPT = 64;

const retained = (o: StoredOutput): number => o.text?.length ?? o.data?.length ?? 0;
const weight = (o: StoredOutput): number => o.text?.length ?? o.size ?? 0;
const endOf = (o: StoredOutput): number => o.dropped + retained(o);

/** Appends one chunk to a stream of the batch's draft `s` (the session of version `version` being made). */
export function appendChunk(
  s: StoredSession,
  event: { stream: string; text?: string; data?: unknown },
  version: number,
): StoredSession {
  const isData = event.data !== undefined;
  if (isData === (event.text !== undefined)) throw new LiveopError('invalid', 'text: give exactly one of text or data');
  const outputs = s.outputs ?? {};
  const stored = Object.hasOwn(outputs, event.stream) ? outputs[event.stream] : undefined;
  if (stored === undefined && Object.keys(outputs).length >= LIMITS.outputStreams) {
    throw new LiveopError(
      'invalid',
      `stream: the session already has ${LIMITS.outputStreams} output streams, the most it may have`,
    );
  }
  if (stored !== undefined && (stored.data !== undefined) !== isData) {
    throw new LiveopError(
      'invalid',
      `${isData ? 'data' : 'text'}: stream "${event.stream}" holds ${isData ? 'text' : 'data'}; a stream holds one kind`,
    );
  }
  // A stream this batch already wrote is its own draft; any other is shared with the stored session.
  const draft: StoredOutput =
    stored?.v === version
      ? stored
      : stored !== undefined
        ? { ...stored, data: stored.data?.slice(), marks: stored.marks.slice(), v: version }
        : { ...(isData ? { data: [], size: 0 } : { text: '' }), dropped: 0, since: version, v: version, marks: [] };
  if (draft.data === undefined) delete draft.data;
  if (isData) {
    draft.data!.push(event.data);
    draft.size = (draft.size ?? 0) + JSON.stringify(event.data).length;
  } else {
    draft.text = (draft.text ?? '') + event.text;
  }
  if (draft !== stored) s.outputs = { ...outputs, [event.stream]: draft };
  return s;
}

/**
 * At the end of a batch: the streams it wrote are brought within their
 * bound and the session's (dropping their own oldest text, so a busy stream
 * never eats another's), and each remembers where this version left it.
 */
export function settleOutputs(s: StoredSession, version: number): void {
  const outputs = s.outputs;
  if (outputs === undefined) return;
  let total = 0;
  for (const output of Object.values(outputs)) total += weight(output);
  for (const output of Object.values(outputs)) {
    if (output.v !== version) continue;
    const before = weight(output);
    dropOldest(output, Math.max(before - LIMITS.outputLength, total - LIMITS.sessionOutputLength));
    total -= before - weight(output);
    output.marks.push([version, endOf(output)]);
    if (output.marks.length > MARKS_KEPT) output.marks.splice(0, output.marks.length - MARKS_KEPT);
  }
}

/** Drops at least `excess` characters (of text, or of data's JSON) from the front of a stream. */
function dropOldest(output: StoredOutput, excess: number): void {
  if (excess <= 0) return;
  if (output.text !== undefined) {
    let cut = Math.min(excess, output.text.length);
    // Never split a surrogate pair: a character is dropped whole.
    const code = output.text.charCodeAt(cut);
    if (code >= 0xdc00 && code <= 0xdfff) cut += 1;
    output.text = output.text.slice(cut);
    output.dropped += cut;
    return;
  }
  const data = output.data ?? [];
  let dropped = 0;
  let freed = 0;
  while (dropped < data.length && freed < excess) freed += JSON.stringify(data[dropped++]).length;
  output.data = data.slice(dropped);
  output.size = (output.size ?? 0) - freed;
  output.dropped += dropped;
}

/** Each stream's end: where a viewer that has everything stands. */
export function outputEnds(s: StoredSession): Record<string, number> {
  const ends: Record<string, number> = {};
  for (const [name, output] of Object.entries(s.outputs ?? {})) ends[name] = endOf(output);
  return ends;
}

/**
 * Where a viewer that had version `version` stands in each stream. A stream
 * it has not seen starts at 0; one whose marks no longer reach back that far
 * starts at what is retained (the viewer places the text by its offset, so
 * nothing is shown twice).
 */
export function outputEndsAtVersion(s: StoredSession, version: number): Record<string, number> {
  const ends: Record<string, number> = {};
  for (const [name, output] of Object.entries(s.outputs ?? {})) {
    if (output.since > version) continue;
    let end = output.dropped;
    for (const [v, at] of output.marks) if (v <= version) end = at;
    ends[name] = Math.max(end, output.dropped);
  }
  return ends;
}

/**
 * What a viewer standing at `after` is sent of each stream, up to `upTo`
 * (never past the line being made, or the next line would repeat it);
 * `after` left out: all that is retained. Streams with nothing new are left out.
 */
export function outputsFor(
  s: StoredSession,
  after?: Readonly<Record<string, number>>,
  upTo?: Readonly<Record<string, number>>,
): Record<string, OutputChunk> | undefined {
  if (s.outputs === undefined) return undefined;
  const chunks: Record<string, OutputChunk> = {};
  let any = false;
  for (const [name, output] of Object.entries(s.outputs)) {
    const end = Math.min(endOf(output), upTo?.[name] ?? Number.POSITIVE_INFINITY);
    const start = Math.max(after?.[name] ?? 0, output.dropped);
    if (after !== undefined && start >= end) continue;
    const chunk: OutputChunk = { offset: start };
    const from = start - output.dropped;
    const to = end - output.dropped;
    if (output.data !== undefined) chunk.data = output.data.slice(from, Math.max(from, to));
    else chunk.text = (output.text ?? '').slice(from, Math.max(from, to));
    if (output.dropped > 0) chunk.dropped = output.dropped;
    chunks[name] = chunk;
    any = true;
  }
  return any || after === undefined ? chunks : undefined;
}
