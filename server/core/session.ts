/**
 * The progress model: a session as it is stored, and the events of the
 * contract applied to it as a pure reducer. `now` is always a parameter.
 *
 * A batch is atomic: `applyEvents` either returns a new session with every
 * event applied (and `version` + 1) or an error and no session at all — a
 * batch with one bad event changes nothing.
 */
import { observe, type ProgressRate } from './eta';
import {
  type Artifact,
  type CreateSessionInput,
  LIMITS,
  type MessageLevel,
  type NextSession,
  type ProgressEvent,
  type SessionError,
  type StageState,
} from './protocol';
import { shownPercent } from './simulation';

/** Internal task statuses: the wire's, plus `completing` (ramping to 100). */
export type StoredTaskStatus = 'pending' | 'running' | 'completing' | 'complete' | 'error' | 'cancelled';

export interface StoredTask {
  id: string;
  name: string;
  weight: number;
  expectedMs: number | null;
  status: StoredTaskStatus;
  /** Last real percent reported (0..100). */
  reported: number;
  /** The percent shown when the curve was last re-anchored (≥ reported). */
  anchor: number;
  /** When the curve was last re-anchored (start, a report, a stage). */
  anchorAt: number | null;
  startedAt: number | null;
  /** When `complete` arrived: the ramp to 100 starts here. */
  completedAt: number | null;
  lastEventAt: number | null;
  /** Rate of real progress in the current stage (eta.ts). */
  progress: ProgressRate | null;
  message?: string;
  level?: MessageLevel;
  done?: number;
  total?: number;
  attempt?: number;
}

export interface StoredLog {
  seq: number;
  at: number;
  line: string;
  /** The session version that added it: a stream resumed `after` a version knows its log cursor. */
  v: number;
}

export interface SessionOptions {
  /** A running task with no event for this long shows `stalled`. @default 30000 */
  stallAfterMs: number;
  /** A session with no event at all for this long fails ("worker lost"). @default 600000 */
  deadAfterMs: number;
  /** The ramp to 100 after `complete`. @default 400 */
  rampMs: number;
  /** Log lines retained. @default 1000 */
  logLimit: number;
  /** Pace of the simulation for tasks without their own. @default 30000 */
  expectedMs: number;
  /** After a cancel request, the server marks the session cancelled itself. @default 30000 */
  cancelGraceMs: number;
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = {
  stallAfterMs: 30_000,
  deadAfterMs: 600_000,
  rampMs: 400,
  logLimit: 1_000,
  expectedMs: 30_000,
  cancelGraceMs: 30_000,
};

export const DEFAULT_TTL_SECONDS = 300;

export interface StoredSession {
  id: string;
  owner: string | null;
  title: string;
  version: number;
  createdAt: number;
  startedAt: number | null;
  /** Set by error / cancelled events; completion time is derived from the ramps. */
  finishedAt: number | null;
  /** Last stored change. */
  updatedAt: number;
  /** Last event of any kind (heartbeats included): the dead-worker clock. */
  lastEventAt: number;
  ttlSeconds: number;
  options: SessionOptions;
  tasks: StoredTask[];
  stages: { name: string; state: StageState }[];
  message: { text: string; level: MessageLevel } | null;
  logs: StoredLog[];
  logSeq: number;
  result: unknown;
  artifacts: Artifact[];
  error: SessionError | null;
  cancelRequested: boolean;
  cancelRequestedAt: number | null;
  cancelled: boolean;
  next: NextSession | null;
  /** Rate of the overall reported percent, for the overall ETA. */
  progress: ProgressRate | null;
  /** The registered operation (and its input) this session runs, so it can be restarted. */
  operation?: { name: string; input: unknown };
}

export interface NewSession extends Omit<CreateSessionInput, 'tasks'> {
  tasks?: CreateSessionInput['tasks'];
}

/** A fresh session. `id` must carry ≥128 bits of randomness (the caller makes it). */
export function createSession(
  id: string,
  input: NewSession,
  now: number,
  defaults: Partial<SessionOptions> & { ttlSeconds?: number } = {},
): StoredSession {
  const specs = normaliseTasks(input);
  const options: SessionOptions = {
    ...DEFAULT_SESSION_OPTIONS,
    ...definedOnly(defaults),
    ...definedOnly({
      stallAfterMs: input.stallAfterMs,
      deadAfterMs: input.deadAfterMs,
      expectedMs: input.expectedMs,
    }),
  };
  return {
    id,
    owner: input.owner ?? null,
    title: input.title ?? '',
    version: 1,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    updatedAt: now,
    lastEventAt: now,
    ttlSeconds: input.ttlSeconds ?? defaults.ttlSeconds ?? DEFAULT_TTL_SECONDS,
    options,
    tasks: specs.map((spec) => ({
      id: spec.id,
      name: spec.name,
      weight: spec.weight ?? 1,
      expectedMs: spec.expectedMs ?? null,
      status: 'pending',
      reported: 0,
      anchor: 0,
      anchorAt: null,
      startedAt: null,
      completedAt: null,
      lastEventAt: null,
      progress: null,
    })),
    stages: (input.stages ?? []).map((name) => ({ name, state: 'pending' as const })),
    message: null,
    logs: [],
    logSeq: 0,
    result: null,
    artifacts: [],
    error: null,
    cancelRequested: false,
    cancelRequestedAt: null,
    cancelled: false,
    next: null,
    progress: null,
  };
}

/** The fields of `value` that are not undefined (so they don't overwrite defaults when spread). */
export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function normaliseTasks(input: NewSession): { id: string; name: string; weight?: number; expectedMs?: number }[] {
  const tasks = input.tasks;
  if (tasks === undefined) return [{ id: 'main', name: input.title || 'Working' }];
  const list = Array.isArray(tasks) ? tasks : Object.entries(tasks).map(([id, name]) => ({ id, name }));
  if (list.length === 0) throw new ModelError(400, 'tasks: give at least one task (or leave tasks out for one)');
  const seen = new Set<string>();
  for (const task of list) {
    if (seen.has(task.id)) throw new ModelError(400, `tasks: task id "${task.id}" appears twice`);
    seen.add(task.id);
  }
  return list;
}

/** A refusal of the model, with the contract's status for it. */
export class ModelError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}

// ------------------------------------------------------------ time rules ---

export type Verdict = 'pending' | 'running' | 'complete' | 'error' | 'cancelled';

/**
 * The session's status at `now`, with the time-based rules applied: the
 * ramp finishing, the cancel grace period running out, the worker going
 * silent. Precedence as in the contract: error, cancelled, complete, running,
 * pending.
 */
export function sessionStatus(session: StoredSession, now: number): Verdict {
  if (session.error !== null || session.tasks.some((t) => t.status === 'error')) return 'error';
  if (session.cancelled) return 'cancelled';
  if (session.cancelRequested && now - (session.cancelRequestedAt ?? now) >= session.options.cancelGraceMs) {
    return 'cancelled';
  }
  if (session.tasks.every((t) => isTaskComplete(t, now, session.options.rampMs))) return 'complete';
  if (isDead(session, now)) return 'error';
  // A session whose first task finished while the next waits is still under way.
  const started = session.tasks.some((t) => t.status !== 'pending');
  return started ? 'running' : 'pending';
}

function isTaskComplete(task: StoredTask, now: number, rampMs: number): boolean {
  return task.status === 'complete' || (task.status === 'completing' && now - (task.completedAt ?? now) >= rampMs);
}

/** No event at all for `deadAfterMs` on a session that has not ended. */
export function isDead(session: StoredSession, now: number): boolean {
  return now - session.lastEventAt >= session.options.deadAfterMs;
}

export function deadMessage(session: StoredSession): string {
  const minutes = Math.round(session.options.deadAfterMs / 60_000);
  const span = minutes >= 1 ? `${minutes} min` : `${Math.round(session.options.deadAfterMs / 1000)} s`;
  return session.startedAt === null
    ? `No worker started this operation within ${span}.`
    : `The worker was lost: no event for ${span}.`;
}

/** When the session ended, or null while it runs. */
export function finishedAt(session: StoredSession, now: number): number | null {
  const status = sessionStatus(session, now);
  if (status === 'pending' || status === 'running') return null;
  if (session.finishedAt !== null) return session.finishedAt;
  if (status === 'complete') {
    const ends = session.tasks.map((t) =>
      t.status === 'completing' ? (t.completedAt ?? now) + session.options.rampMs : (t.completedAt ?? now),
    );
    return Math.max(...ends);
  }
  if (status === 'cancelled') return (session.cancelRequestedAt ?? now) + session.options.cancelGraceMs;
  return session.lastEventAt + session.options.deadAfterMs;
}

/**
 * How long the store keeps the session from its last change: `ttlSeconds`
 * once it has ended; while it has not, long enough for the dead-worker rule
 * to fail it and then `ttlSeconds` more, so viewers learn why.
 */
export function retentionMs(session: StoredSession, now: number): number {
  const ttl = session.ttlSeconds * 1000;
  const status = sessionStatus(session, now);
  if (status === 'complete' || status === 'error' || status === 'cancelled') {
    const ended = finishedAt(session, now) ?? now;
    return Math.max(ttl + ended - now, 1);
  }
  return session.options.deadAfterMs + ttl;
}

// --------------------------------------------------------------- reducer ---

export interface ApplyContext {
  /** Resolves a chained session id to what viewers need to follow it. */
  resolveNext?: (id: string) => NextSession;
}

/** Applies a batch of events atomically. Throws ModelError and changes nothing on a bad one. */
export function applyEvents(
  session: StoredSession,
  events: readonly ProgressEvent[],
  now: number,
  context: ApplyContext = {},
): StoredSession {
  const version = session.version + 1;
  // `next` and its `tasks` array are this batch's own draft, which the event
  // handlers may change in place (one copy per batch instead of one per step);
  // everything else is shared with `session`, so it is copied before it changes.
  let next: StoredSession = { ...session, tasks: session.tasks.slice(), version, updatedAt: now };
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!;
    try {
      next = applyEvent(next, event, now, version, context);
    } catch (error) {
      if (error instanceof ModelError && events.length > 1) {
        throw new ModelError(error.status, `events[${index}] (${event.type}): ${error.message}`);
      }
      throw error;
    }
  }
  next.lastEventAt = now;
  next.progress = observe(next.progress, reportedOverall(next), now);
  if (next.logs.length > next.options.logLimit) next.logs = next.logs.slice(-next.options.logLimit);
  return next;
}

/** A viewer's (or reporter's) cancel request. Idempotent; refused once the session has ended. */
export function requestCancel(session: StoredSession, now: number): StoredSession {
  assertOpen(session, now);
  if (session.cancelRequested) return session;
  return { ...session, version: session.version + 1, updatedAt: now, cancelRequested: true, cancelRequestedAt: now };
}

function assertOpen(session: StoredSession, now: number): void {
  const status = sessionStatus(session, now);
  if (status === 'complete' || status === 'error' || status === 'cancelled') {
    throw new ModelError(409, `the session has already ended (${status})`);
  }
}

function applyEvent(
  s: StoredSession,
  event: ProgressEvent,
  now: number,
  version: number,
  context: ApplyContext,
): StoredSession {
  assertOpen(s, now);
  switch (event.type) {
    case 'start':
      return updateTask(s, event.task, now, (t) => startTask(t, now));
    case 'percent':
      return report(s, event.task, event.value, now);
    case 'steps':
      return report(s, event.task, (event.done / event.total) * 100, now, { done: event.done, total: event.total });
    case 'message': {
      const level = event.level ?? 'info';
      const withMessage = { ...s, message: { text: event.text, level } };
      if (event.task === undefined) return withMessage;
      return updateTask(withMessage, event.task, now, (t) => ({ ...t, message: event.text, level }));
    }
    case 'log': {
      const lines = event.lines ?? (event.line === undefined ? [] : [event.line]);
      const logs = s.logs.concat(lines.map((line, i) => ({ seq: s.logSeq + i + 1, at: now, line, v: version })));
      return { ...s, logs, logSeq: s.logSeq + lines.length };
    }
    case 'stage':
      return enterStage(s, event.name, event.state, now);
    case 'complete':
      return updateTask(s, event.task, now, (t) => {
        const started = startTask(t, now);
        const { percent } = shownPercent(started, now, s.options);
        return {
          ...started,
          status: 'completing',
          completedAt: now,
          anchor: percent,
          reported: 100,
          progress: observe(started.progress, 100, now),
          ...(event.message === undefined ? {} : { message: event.message, level: 'info' as const }),
        };
      });
    case 'error': {
      const failed = { ...s, error: { message: event.message, ...(event.task ? { task: event.task } : {}) } };
      const withTask =
        event.task === undefined
          ? failed
          : updateTask(failed, event.task, now, (t) => ({
              ...freeze(t, now, s),
              status: 'error',
              message: event.message,
              level: 'error',
            }));
      // A session-wide error fails what was running; one task's error interrupts the others.
      const interrupted: StoredTaskStatus = event.task === undefined ? 'error' : 'cancelled';
      return finish(withTask, now, 'failed', (t) => (t.status === 'running' ? interrupted : t.status));
    }
    case 'retry':
      return updateTask(s, event.task, now, (t) => ({
        ...startTask(t, now),
        attempt: event.attempt,
        ...(event.message === undefined ? {} : { message: event.message, level: 'warning' as const }),
      }));
    case 'result': {
      const artifacts = event.artifacts === undefined ? s.artifacts : s.artifacts.concat(event.artifacts);
      if (artifacts.length > LIMITS.artifacts) {
        throw new ModelError(
          400,
          `artifacts: the session would hold ${artifacts.length} artifacts; at most ${LIMITS.artifacts}`,
        );
      }
      return { ...s, result: event.data === undefined ? s.result : event.data, artifacts };
    }
    case 'cancelled':
      return finish({ ...s, cancelled: true }, now, 'cancelled', (t) =>
        t.status === 'running' || t.status === 'pending' ? 'cancelled' : t.status,
      );
    case 'chain': {
      if (event.next === s.id) throw new ModelError(400, 'next: a session cannot chain to itself');
      const nextSession = context.resolveNext?.(event.next) ?? { id: event.next, streamUrl: null, viewerToken: null };
      // Chaining finishes this session (liveops' chain_to): what still runs completes.
      const tasks = s.tasks.map((t) =>
        t.status === 'pending' || t.status === 'running'
          ? {
              ...startTask(t, now),
              status: 'completing' as const,
              completedAt: now,
              anchor: shownPercent(t, now, s.options).percent,
              reported: 100,
            }
          : t,
      );
      return { ...s, tasks, next: nextSession };
    }
    case 'heartbeat':
      if (event.task !== undefined) return updateTask(s, event.task, now, (t) => t);
      return { ...s, tasks: s.tasks.map((t) => (t.status === 'running' ? { ...t, lastEventAt: now } : t)) };
    default:
      throw new ModelError(400, `unknown event type ${String((event as { type: unknown }).type)}`);
  }
}

function updateTask(
  s: StoredSession,
  taskId: string,
  now: number,
  change: (task: StoredTask) => StoredTask,
): StoredSession {
  const index = s.tasks.findIndex((t) => t.id === taskId);
  const task = s.tasks[index];
  if (task === undefined) throw new ModelError(404, `unknown task "${taskId}"`);
  if (task.status !== 'pending' && task.status !== 'running') {
    throw new ModelError(
      409,
      `task "${taskId}" has already ended (${task.status === 'completing' ? 'complete' : task.status})`,
    );
  }
  // `s` is the batch's draft (see applyEvents); the task itself is shared, so it is replaced.
  s.tasks[index] = { ...change(task), lastEventAt: now };
  s.startedAt ??= now;
  return s;
}

function startTask(task: StoredTask, now: number): StoredTask {
  if (task.status !== 'pending') return task;
  return { ...task, status: 'running', startedAt: now, anchorAt: now, anchor: 0 };
}

/** A real report: re-anchor the curve where it stands so it never goes back. */
function report(
  s: StoredSession,
  taskId: string,
  value: number,
  now: number,
  steps?: { done: number; total: number },
): StoredSession {
  return updateTask(s, taskId, now, (t) => {
    const started = startTask(t, now);
    const shown = shownPercent(started, now, s.options).percent;
    // A report of 100 is not completion: hold just below until `complete`.
    const reported = Math.min(value, 99.999);
    return {
      ...started,
      reported,
      anchor: Math.max(shown, reported),
      anchorAt: now,
      progress: observe(started.progress, reported, now),
      ...steps,
    };
  });
}

/** Stops a task's curve where it stands (errors and cancels freeze the bar). */
function freeze(task: StoredTask, now: number, s: StoredSession): StoredTask {
  return { ...task, anchor: shownPercent(task, now, s.options).percent, anchorAt: now };
}

function finish(
  s: StoredSession,
  now: number,
  stageState: StageState,
  taskStatus: (task: StoredTask) => StoredTaskStatus,
): StoredSession {
  return {
    ...s,
    finishedAt: now,
    tasks: s.tasks.map((t) => {
      const status = taskStatus(t);
      return status === t.status ? t : { ...freeze(t, now, s), status };
    }),
    stages: s.stages.map((stage) => (stage.state === 'active' ? { ...stage, state: stageState } : stage)),
  };
}

/**
 * Enters a stage: the active one is done, this one active, and the stage bar
 * (each running task's percent) starts again from 0. A name not declared at
 * creation is appended, so the stepper shows every stage that ran. With an
 * explicit `state`, only that stage's state is set.
 */
function enterStage(s: StoredSession, name: string, state: StageState | undefined, now: number): StoredSession {
  const known = s.stages.some((stage) => stage.name === name);
  if (!known && s.stages.length >= LIMITS.stages) {
    throw new ModelError(400, `name: the session already has ${LIMITS.stages} stages, the most it may have`);
  }
  const stages = known ? s.stages.slice() : [...s.stages, { name, state: 'pending' as StageState }];
  if (state !== undefined && state !== 'active') {
    return { ...s, stages: stages.map((stage) => (stage.name === name ? { ...stage, state } : stage)) };
  }
  const entered = stages.map((stage) => {
    if (stage.name === name) return { ...stage, state: 'active' as const };
    if (stage.state === 'active') return { ...stage, state: 'done' as const };
    return stage;
  });
  const tasks = s.tasks.map((t) =>
    t.status === 'running' ? { ...t, reported: 0, anchor: 0, anchorAt: now, progress: null, lastEventAt: now } : t,
  );
  return { ...s, stages: entered, tasks, startedAt: s.startedAt ?? now };
}

// ------------------------------------------------------------- aggregate ---

/**
 * The overall percent from per-task percents: the weighted mean, composed
 * with the stages when the session uses them (done stages count whole, the
 * active one by its tasks), so the overall bar never goes back when a new
 * stage resets the task bars.
 */
export function overallPercent(s: StoredSession, taskPercents: readonly number[]): number {
  const weights = s.tasks.reduce((sum, t) => sum + t.weight, 0);
  const mean = s.tasks.reduce((sum, t, i) => sum + t.weight * (taskPercents[i] ?? 0), 0) / weights;
  const active = s.stages.findIndex((stage) => stage.state === 'active');
  if (active === -1 || s.stages.length === 0) return mean;
  const doneBefore = s.stages.slice(0, active).length;
  return ((doneBefore + mean / 100) / s.stages.length) * 100;
}

/** The overall percent of real reports only (feeds the overall ETA). */
export function reportedOverall(s: StoredSession): number {
  return overallPercent(
    s,
    s.tasks.map((t) => (t.status === 'completing' || t.status === 'complete' ? 100 : t.reported)),
  );
}
