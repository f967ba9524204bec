/**
 * Text mode (liveops' TextProgress): the same snapshots, printed for a
 * terminal or a log file instead of drawn. Pure: give it the previous and
 * the current snapshot, get the lines to print. Stages become section
 * headers; a task prints when its status changes or it crosses a tenth;
 * every log line prints once; the end prints the result or the error. A bar
 * the server completed eases to 100 first (the closing ramp, closing-ramp.ts):
 * the tenths it crosses print as it goes, then "complete".
 */
import {
  type Catalogue,
  CLOSING_RAMP_MS,
  closingFrame,
  fill,
  isTerminal,
  type Snapshot,
} from '../../protocol/index.ts';
import { outputLines } from './output-lines.ts';

/** How often the text view draws a closing ramp: a few steps, each one a tenth or more. */
const CLOSING_STEP_MS = 100;

const bar = (percent: number, width = 20): string => {
  const full = Math.round((percent / 100) * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
};

/** The viewer's language: its status words (the views' catalogue; none: English) and numbers. */
export interface Words {
  lang?: string | undefined;
  catalogue?: Catalogue | undefined;
}

export function textLines(last: Snapshot | null, current: Snapshot, words: Words = {}): string[] {
  const out: string[] = [];
  const said = (status: string) => words.catalogue?.[status] ?? status;
  const number = (n: number) => (words.lang ? n.toLocaleString(words.lang) : String(n));
  // A chained session starts afresh.
  const previous = last?.id === current.id ? last : null;
  if (previous === null) out.push(`${current.title || 'Operation'} (${current.id})`);
  // A stage's header prints the first time it is seen under way (lines are
  // throttled, so a short stage may start and end between two snapshots).
  for (const stage of current.stages) {
    const before = previous?.stages.find((s) => s.name === stage.name);
    const started = stage.state !== 'pending' && (before === undefined || before.state === 'pending');
    if (started) out.push('', `== ${stage.name} ==`);
    if ((stage.state === 'failed' || stage.state === 'cancelled') && before?.state !== stage.state) {
      out.push(`  (${stage.name} ${stage.state})`);
    }
  }
  for (const task of current.tasks) {
    const before = previous?.tasks.find((t) => t.id === task.id);
    const crossed = before === undefined || Math.floor(task.percent / 10) !== Math.floor(before.percent / 10);
    if (before?.status !== task.status || (crossed && task.status === 'running')) {
      const steps = task.total !== undefined ? ` ${number(task.done ?? 0)}/${number(task.total)}` : '';
      const retry =
        task.attempt !== undefined
          ? ` (${fill(words.catalogue?.retry ?? 'retry {attempt}', { attempt: number(task.attempt) })})`
          : '';
      const note = task.message ? ` — ${task.message}` : '';
      out.push(
        `  ${bar(task.percent)} ${String(task.percent).padStart(3)}% ${task.name}: ${said(task.status)}${steps}${retry}${note}`,
      );
    }
  }
  if (current.message && current.message.text !== previous?.message?.text) {
    out.push(
      `  ${current.message.level === 'info' ? '' : `${current.message.level.toUpperCase()}: `}${current.message.text}`,
    );
  }
  for (const log of current.logs) out.push(`  | ${log.line}`);
  if (current.status !== previous?.status && isTerminal(current.status)) {
    out.push('', `${said(current.status).toUpperCase()} ${current.percent}%`);
    if (current.error) out.push(`  error: ${current.error.message}`);
    if (current.result !== null && current.result !== undefined) {
      if (typeof current.result === 'object' && !Array.isArray(current.result)) {
        for (const [key, value] of Object.entries(current.result as Record<string, unknown>)) {
          out.push(`  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
        }
      } else out.push(`  result: ${JSON.stringify(current.result)}`);
    }
    for (const artifact of current.artifacts)
      out.push(`  artifact: ${artifact.name}${artifact.url ? ` <${artifact.url}>` : ''}`);
    if (current.next) out.push(`  continues in ${current.next.id}`);
  }
  return out;
}

/**
 * What the text view shows on its way from `previous` to `current`: the
 * closing ramp's frames, one every `CLOSING_STEP_MS` (the first with
 * `current`'s new log lines, the others without, so each prints once), then
 * `current`. Just `current` when nothing ramps.
 */
export function textFrames(previous: Snapshot | null, current: Snapshot): Snapshot[] {
  if (previous === null || closingFrame(previous, current, 0) === null) return [current];
  const frames: Snapshot[] = [];
  for (let at = 0; at < CLOSING_RAMP_MS; at += CLOSING_STEP_MS) {
    const frame = closingFrame(previous, current, at)!;
    frames.push(at === 0 ? frame : { ...frame, logs: [] });
  }
  return [...frames, { ...current, logs: [] }];
}

/** Prints a stream of snapshots as text, easing completed bars to 100 in time; resolves with the last one. */
export async function printSnapshots(
  snapshots: AsyncIterable<Snapshot>,
  write: (text: string) => void = (text) => process.stdout.write(text),
  sleep: (ms: number) => Promise<unknown> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  words: Words = {},
): Promise<Snapshot | null> {
  let previous: Snapshot | null = null;
  let last: Snapshot | null = null;
  const partial: Record<string, string> = {};
  for await (const snapshot of snapshots) {
    // A stream's text prints before the progress lines of the snapshot that carried it (and before the end).
    const text = outputLines(partial, snapshot.outputs, isTerminal(snapshot.status));
    if (text.length > 0) write(`${text.join('\n')}\n`);
    for (const [i, frame] of textFrames(previous, snapshot).entries()) {
      if (i > 0) await sleep(CLOSING_STEP_MS);
      const lines = textLines(previous, frame, words);
      if (lines.length > 0) write(`${lines.join('\n')}\n`);
      previous = frame;
    }
    last = snapshot;
  }
  return last;
}
