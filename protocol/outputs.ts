/**
 * Output streams as a viewer holds them: each line's chunk is placed at its
 * `offset`, so whatever a connection receives twice (a resumed stream, a poll
 * overtaken by a stream line) is kept once, and what the server dropped shows
 * as a gap. Pure; the element, liveop/client's watch() and `liveop watch` use it.
 */

/**
 * Text (or data chunks) of one output stream, from position `offset`.
 * Positions count UTF-16 code units of text (as JavaScript strings do), or
 * chunks of a data stream. A read (and a stream's first line) carries all
 * the stream retains; later lines carry only what the connection lacks, so
 * a viewer appends each at `offset` (see `appendOutput`).
 */
export interface OutputChunk {
  /** Where `text` (or `data`) starts in the whole stream. */
  offset: number;
  /** The text of a text stream. */
  text?: string;
  /** The chunks of a data stream. */
  data?: unknown[];
  /** How much of the stream's oldest text (or chunks) the server dropped past the bounds (present when > 0). */
  dropped?: number;
}

/** How many characters (or data chunks) a chunk holds. */
export const outputSize = (chunk: OutputChunk): number => chunk.text?.length ?? chunk.data?.length ?? 0;

/** The position just past a chunk: how much of the stream a viewer holding it has seen. */
export const outputEnd = (chunk: OutputChunk): number => chunk.offset + outputSize(chunk);

/** `chunk` without its first `skip` characters (or data chunks). */
function from(chunk: OutputChunk, skip: number): OutputChunk {
  if (skip <= 0) return chunk;
  const rest: OutputChunk = { offset: chunk.offset + skip };
  if (chunk.data !== undefined) rest.data = chunk.data.slice(skip);
  else rest.text = (chunk.text ?? '').slice(skip);
  if (chunk.dropped !== undefined) rest.dropped = chunk.dropped;
  return rest;
}

/**
 * A held stream with a new chunk appended at its offset: the part already
 * held is skipped; a chunk that starts past the end (the server dropped
 * text this viewer never saw) replaces what was held, its `dropped` saying so.
 * @example appendOutput({ offset: 0, text: 'Hel' }, { offset: 2, text: 'llo' }) // { offset: 0, text: 'Hello' }
 */
export function appendOutput(held: OutputChunk | undefined, chunk: OutputChunk): OutputChunk {
  if (held === undefined || chunk.offset > outputEnd(held) || chunk.offset < held.offset) return chunk;
  const fresh = from(chunk, outputEnd(held) - chunk.offset);
  if (outputSize(fresh) === 0) return held;
  const merged: OutputChunk = { offset: held.offset };
  if (held.data !== undefined || fresh.data !== undefined) merged.data = (held.data ?? []).concat(fresh.data ?? []);
  else merged.text = (held.text ?? '') + (fresh.text ?? '');
  const dropped = Math.max(held.dropped ?? 0, chunk.dropped ?? 0);
  if (dropped > 0) merged.dropped = dropped;
  return merged;
}

/** Every stream of `outputs` appended to `held` (returns `held` itself when nothing is new). */
export function appendOutputs(
  held: Readonly<Record<string, OutputChunk>>,
  outputs: Readonly<Record<string, OutputChunk>> | undefined,
): Record<string, OutputChunk> {
  if (outputs === undefined) return held;
  let next: Record<string, OutputChunk> | null = null;
  for (const [name, chunk] of Object.entries(outputs)) {
    const merged = appendOutput(held[name], chunk);
    if (merged === held[name]) continue;
    next ??= { ...held };
    next[name] = merged;
  }
  return next ?? held;
}

/**
 * Of `outputs`, only what lies past `ends` (each stream's end as a viewer
 * holds it), and `ends` moved past it: a line with nothing new for a
 * stream leaves that stream out.
 */
export function outputsAfter(
  ends: Record<string, number>,
  outputs: Readonly<Record<string, OutputChunk>> | undefined,
): Record<string, OutputChunk> | undefined {
  if (outputs === undefined) return undefined;
  let fresh: Record<string, OutputChunk> | undefined;
  for (const [name, chunk] of Object.entries(outputs)) {
    const end = ends[name] ?? 0;
    const rest = chunk.offset >= end ? chunk : from(chunk, end - chunk.offset);
    if (outputSize(rest) === 0) continue;
    ends[name] = outputEnd(rest);
    fresh ??= {};
    fresh[name] = rest;
  }
  return fresh;
}
