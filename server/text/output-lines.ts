/**
 * Output streams in text mode: a stream's text is printed a whole line at a
 * time, each under its stream's name (`answer> …`), so streams and progress
 * lines interleave readably; the rest of a line waits for its end, or for
 * the session's. Data chunks print as JSON, one a line.
 */
import type { OutputChunk } from '../../protocol/index.ts';

/** What is printed of `outputs` (new text only, as SessionCursor delivers it); `partial` keeps each stream's unfinished line. */
export function outputLines(
  partial: Record<string, string>,
  outputs: Readonly<Record<string, OutputChunk>> | undefined,
  ended: boolean,
): string[] {
  const out: string[] = [];
  for (const [name, chunk] of Object.entries(outputs ?? {})) {
    if (chunk.data !== undefined) {
      for (const item of chunk.data) out.push(`  ${name}> ${JSON.stringify(item)}`);
      continue;
    }
    if (chunk.dropped && partial[name] === undefined) out.push(`  ${name}> … (${chunk.dropped} characters dropped)`);
    const lines = `${partial[name] ?? ''}${chunk.text ?? ''}`.split('\n');
    partial[name] = lines.pop()!;
    for (const line of lines) out.push(`  ${name}> ${line}`);
  }
  if (ended) {
    for (const [name, rest] of Object.entries(partial)) if (rest !== '') out.push(`  ${name}> ${rest}`);
    for (const name of Object.keys(partial)) delete partial[name];
  }
  return out;
}
