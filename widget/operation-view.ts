/**
 * What `<live-operation>` shows, decided without a DOM: `track` follows the
 * bars from snapshot to snapshot (they never go back within a stage and an
 * attempt; a bar reaching 100 starts the closing ramp), and `operationView`
 * turns a snapshot, the element's state, the time and the strings into the
 * view model its template renders — every label already in words, every
 * value from the server still a plain string.
 */
import type {
  LogEntry,
  SessionStatus,
  Snapshot,
  StageSnapshot,
  StatusMessage,
  TaskSnapshot,
  TaskStatus,
} from '../protocol/index.ts';
import { isTerminal } from '../protocol/index.ts';
import type { ConnectionState } from './events.ts';
import { format, formatDuration, type LiveOperationStrings, translate } from './strings.ts';

/** The bars as shown so far for one session. */
export interface Progress {
  id: string;
  /** How many stages have begun, and each task's attempt: when either changes, bars may go back. */
  run: string;
  /** Highest percent shown per task id ('' for the overall bar). */
  peaks: Record<string, number>;
}

/**
 * The bars once `snapshot` arrived after `progress`, and whether one of them
 * just reached 100 from below (`closing`: the element then eases it there,
 * drawing the rest from the snapshot shown before, CLOSING_RAMP_MS).
 */
export function track(progress: Progress | undefined, snapshot: Snapshot): { progress: Progress; closing: boolean } {
  // Only a new stage or a new attempt starting may take bars back (to their own 0); a stage ending may not.
  const run = `${snapshot.stages.filter((s) => s.state !== 'pending').length} ${snapshot.tasks.map((t) => t.attempt)}`;
  const peaks = progress?.id === snapshot.id && progress.run === run ? { ...progress.peaks } : {};
  let closing = false;
  for (const { id, percent } of [...snapshot.tasks, { id: '', percent: snapshot.percent }]) {
    const peak = peaks[id];
    // Only completion takes a bar to 100.
    closing ||= percent > 99 && (peak ?? 100) < 100;
    peaks[id] = Math.max(peak ?? 0, percent);
  }
  return { progress: { id: snapshot.id, run, peaks }, closing };
}

/** What the element holds besides the snapshot (its reactive state and settings). */
export interface ViewState {
  /** The snapshot to draw: during the closing ramp, the one shown before the latest. */
  snapshot?: Snapshot | undefined;
  /** The latest snapshot (the cancel controls follow it, not the ramp). */
  latest?: Snapshot | undefined;
  /** Highest percent shown per task id ('' for the overall bar). */
  peaks: Record<string, number>;
  /** The log lines kept, oldest first. */
  logs: LogEntry[];
  /** When the ETA runs out, in ms since the epoch. */
  etaAt?: number | undefined;
  /** Why the session cannot be shown. */
  problem?: string | undefined;
  connection?: ConnectionState | undefined;
  /** The connection's last attempts got no answer. */
  unreachable?: boolean | undefined;
  /** The token (or the `cancelable` attribute) allows cancelling. */
  mayCancel: boolean;
  confirming?: boolean | undefined;
  cancelling?: boolean | undefined;
  cancelError?: string | undefined;
  logOrder: 'oldest-first' | 'newest-first';
  logMode: 'all' | 'latest';
  /** The URL artifact links resolve against. */
  base: string;
}

/** One progress bar. */
export interface BarView {
  percent: number;
  /** The percent in the page's language (`42 %`). */
  text: string;
  /** `aria-label`. */
  label: string;
  /** `aria-valuetext`: the percent and the status in words. */
  valueText: string;
}

/** A task as the server sent it (its name stays a string), with its icon, bar and details in words. */
export interface TaskView {
  task: TaskSnapshot;
  icon: string;
  bar: BarView;
  /** Steps, message, retry and stalled note, joined ('' for none). */
  detail: string;
}

/**
 * The snapshot whose result panel shows, and the URL its artifact links
 * resolve against. The panel's own view model (result-view.ts) is made in
 * the chunk that draws it: a result shows once, at the end.
 */
export interface ResultSource {
  snapshot: Snapshot;
  base: string;
}

/** The cancel controls: the button (asking to confirm, with a keep button), or that cancelling is under way. */
export type ActionsView =
  | { kind: 'cancelling'; label: string }
  | { kind: 'cancel'; label: string }
  | { kind: 'confirm'; label: string; keep: string };

export type LogView =
  | { kind: 'latest'; line: string }
  | { kind: 'all'; toggle: string; lines: string[]; newestFirst: boolean };

export interface OperationView {
  /** Nothing to show but why (refused before any snapshot). */
  problemOnly: boolean;
  /** No snapshot yet. */
  busy: boolean;
  title: string;
  /** The status the card is drawn in (its class). */
  status: SessionStatus;
  /** The status badge's words (queued, cancelling, or the status). */
  badge: string;
  overall: BarView;
  /** As the server sent them: the `active` one is the current step. */
  stages: StageSnapshot[];
  tasks: TaskView[];
  /** The latest message, unless a task row or the error already says it. */
  message?: (StatusMessage & { label?: string | undefined }) | undefined;
  /** The error, or why the session cannot be shown. */
  problem?: string | undefined;
  /** The result and artifacts to show, once complete or as soon as the session carries any. */
  result?: ResultSource | undefined;
  /** Elapsed time, ETA, connection state and a failed cancel, joined ('' for none). */
  meta: string;
  actions?: ActionsView | undefined;
  log?: LogView | undefined;
}

const icons: Record<TaskStatus, string> = { pending: '○', running: '●', complete: '✓', error: '✕', cancelled: '–' };

/**
 * The view model of `state` at `now`, in `strings` (overrides of the
 * defaults) and `lang` (undefined: the browser's).
 */
export function operationView(
  state: ViewState,
  now: number,
  strings: Partial<LiveOperationStrings> = {},
  lang?: string,
): OperationView {
  const t = (key: string, values?: Record<string, string | number>) =>
    translate(strings, key as keyof LiveOperationStrings, values);
  const { snapshot, latest } = state;
  const status = snapshot?.status ?? 'pending';
  const title = snapshot?.title || t('untitled');
  const bar = (label: string, percent: number, status: string, simulated?: boolean): BarView => {
    const text = format(lang, percent, 'percent');
    return {
      percent,
      text,
      label,
      valueText: t(simulated ? 'estimate' : 'value', { percent: text, status: t(status) }),
    };
  };
  const problem = state.problem || snapshot?.error?.message || undefined;
  const message = snapshot?.message;
  const left = state.etaAt === undefined ? 0 : state.etaAt - now;
  const { connection } = state;
  return {
    problemOnly: !latest && !!state.problem,
    busy: !snapshot,
    title,
    status,
    badge: snapshot?.queuePosition
      ? t('queued', { position: format(lang, snapshot.queuePosition) })
      : t(snapshot?.cancelRequested && !isTerminal(status) ? 'cancelling' : status),
    overall: bar(title, state.peaks[''] ?? 0, status),
    stages: snapshot?.stages ?? [],
    tasks: (snapshot?.tasks ?? []).map((task) => ({
      task,
      icon: icons[task.status],
      bar: bar(task.name, state.peaks[task.id] ?? task.percent, task.status, task.simulated),
      detail: [
        task.total &&
          `${t('steps', { done: format(lang, task.done ?? 0), total: format(lang, task.total) })} ${task.unit ?? ''}`.trim(),
        // A failed task's message is the error, which the error panel shows.
        task.status !== 'error' && task.message,
        task.attempt && t('retry', { attempt: format(lang, task.attempt) }),
        task.stalled && t('stalled', { time: formatDuration(task.idleMs ?? 30_000, lang, true) }),
      ]
        .filter(Boolean)
        .join(' · '),
    })),
    // A message goes stale with a failure.
    message:
      message && !problem && !snapshot.tasks.some((task) => task.message === message.text)
        ? { ...message, label: message.level === 'info' ? undefined : t(message.level) }
        : undefined,
    problem,
    result:
      snapshot && (status === 'complete' || snapshot.result != null || snapshot.artifacts.length > 0)
        ? { snapshot, base: state.base }
        : undefined,
    meta: [
      snapshot?.startedAt &&
        t('elapsed', {
          time: formatDuration(
            (snapshot.finishedAt ? Date.parse(snapshot.finishedAt) : now) - Date.parse(snapshot.startedAt),
            lang,
          ),
        }),
      status === 'running' && left > 0 && !state.problem && t('eta', { time: formatDuration(left, lang, true) }),
      (connection === 'reconnecting' || connection === 'polling') && t(state.unreachable ? 'unreachable' : connection),
      state.cancelError,
    ]
      .filter(Boolean)
      .join(' · '),
    actions:
      latest && !isTerminal(latest.status) && !state.problem && state.mayCancel
        ? state.cancelling || latest.cancelRequested
          ? { kind: 'cancelling', label: t('cancelling') }
          : state.confirming
            ? { kind: 'confirm', label: t('confirm'), keep: t('keep') }
            : { kind: 'cancel', label: t('cancel') }
        : undefined,
    log: logView(state, t),
  };
}

function logView(
  { logs, logMode, logOrder }: ViewState,
  t: (key: string, values?: Record<string, string | number>) => string,
): LogView | undefined {
  const last = logs.at(-1);
  if (!last) return undefined;
  if (logMode === 'latest') return { kind: 'latest', line: last.line };
  const lines = logs.map((entry) => entry.line);
  const newestFirst = logOrder === 'newest-first';
  return {
    kind: 'all',
    toggle: t('log', { count: logs.length }),
    lines: newestFirst ? lines.reverse() : lines,
    newestFirst,
  };
}
