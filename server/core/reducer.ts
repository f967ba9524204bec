/**
 * The events of the contract applied to a stored session, as a pure reducer.
 *
 * A batch is atomic: `applyEvents` either returns a new session with every
 * event applied (and `version` + 1) or throws a LiveopError and changes
 * nothing — a batch with one bad event changes nothing.
 */
import { isTerminal, LIMITS, type NextSession, type ProgressEvent, type StageState } from '../../protocol/index.ts';
import { reportedOverall } from './aggregate.ts';
import { LiveopError } from './errors.ts';
import { observe } from './eta.ts';
import type { StoredSession, StoredTask, StoredTaskStatus } from './model.ts';
import { appendChunk, settleOutputs } from './outputs.ts';
import { resumed, shownPercent } from './simulation.ts';
import { sessionStatus } from './status.ts';

export interface ApplyContext {
  /** Resolves a chained session id to what viewers need to follow it. */
  resolveNext?: (id: string) => NextSession;
}

/** Applies a batch of events atomically. Throws LiveopError and changes nothing on a bad one. */
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
  let applied = 0;
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!;
    // Cancelling is idempotent: several tasks (or instances, or a reporter and the
    // runner) may each say `cancelled`; once the session is cancelled, the later
    // ones change nothing instead of failing their batch.
    if (event.type === 'cancelled' && sessionStatus(next, now) === 'cancelled') continue;
    applied += 1;
    try {
      next = applyEvent(next, event, now, version, context);
    } catch (error) {
      if (error instanceof LiveopError && events.length > 1) {
        throw new LiveopError(error.kind, `events[${index}] (${event.type}): ${error.message}`);
      }
      throw error;
    }
  }
  if (applied === 0) return session;
  // The batch that completes the last task ends the session then and there:
  // every read, line and list says `complete`, and the finish hooks run.
  if (next.finishedAt === null && sessionStatus(next, now) === 'complete') next.finishedAt = now;
  next.lastEventAt = now;
  next.progress = observe(next.progress, reportedOverall(next), now);
  if (next.logs.length > next.options.logLimit) next.logs = next.logs.slice(-next.options.logLimit);
  settleOutputs(next, version);
  return next;
}

/**
 * Points an ended session's viewers at the one that replaces it (a restart
 * in place): they follow `next` as they follow a chain. Unlike events, this
 * applies to a session that has ended — that is its point.
 */
export function pointTo(session: StoredSession, next: NextSession, now: number): StoredSession {
  return { ...session, version: session.version + 1, updatedAt: now, next };
}

/** The version a batch with this idempotency key produced, if the session remembers it. */
export function replayedVersion(session: StoredSession, key: string): number | undefined {
  return session.batches?.find((b) => b.key === key)?.version;
}

/** Remembers that the batch with this key produced `next` (the last `LIMITS.idempotencyKeys` are kept). */
export function rememberBatch(next: StoredSession, key: string): StoredSession {
  const batches = (next.batches ?? []).concat({ key, version: next.version }).slice(-LIMITS.idempotencyKeys);
  return { ...next, batches };
}

/** A viewer's (or reporter's) cancel request. Idempotent; refused once the session has ended otherwise. */
export function requestCancel(session: StoredSession, now: number): StoredSession {
  if (session.cancelRequested || sessionStatus(session, now) === 'cancelled') return session;
  assertOpen(session, now);
  return { ...session, version: session.version + 1, updatedAt: now, cancelRequested: true, cancelRequestedAt: now };
}

function assertOpen(session: StoredSession, now: number): void {
  const status = sessionStatus(session, now);
  if (isTerminal(status)) {
    throw new LiveopError('conflict', `the session has already ended (${status})`);
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
      return report(s, event.task, (event.done / event.total) * 100, now, {
        done: event.done,
        total: event.total,
        ...(event.unit === undefined ? {} : { unit: event.unit }),
      });
    case 'message': {
      const level = event.level ?? 'info';
      const keyed = event.key === undefined ? {} : { key: event.key, ...(event.params && { params: event.params }) };
      const withMessage = { ...s, message: { text: event.text, level, ...keyed } };
      if (event.task === undefined) return withMessage;
      return updateTask(withMessage, event.task, now, (t) => ({ ...t, message: event.text, level }));
    }
    case 'log': {
      const lines = event.lines ?? (event.line === undefined ? [] : [event.line]);
      const data = event.data === undefined ? {} : { data: event.data };
      const logs = s.logs.concat(
        lines.map((line, i) => ({ seq: s.logSeq + i + 1, at: now, line, ...data, v: version })),
      );
      return { ...s, logs, logSeq: s.logSeq + lines.length };
    }
    case 'output':
      return appendChunk(s, event, version);
    case 'stage':
      return enterStage(s, event.name, event.state, now);
    case 'complete':
      return updateTask(s, event.task, now, (t) => {
        // What it said it was doing ("Importing") is over: only the complete event's own message stays.
        const { message: _, level: __, ...done } = completeTask(t, now);
        return {
          ...done,
          progress: observe(t.progress, 100, now),
          ...(event.message === undefined ? {} : { message: event.message, level: 'info' as const }),
        };
      });
    case 'error': {
      const failed = {
        ...s,
        error: { message: event.message, ...(event.task ? { task: event.task } : {}) },
        ...(event.detail === undefined ? {} : { errorDetail: event.detail }),
      };
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
      // A new attempt is a new start: its bar, count and ETA start again (a
      // bar never goes back within an attempt, not across attempts).
      s.progress = null;
      return updateTask(s, event.task, now, (t) => ({
        ...fromZero(startTask(t, now), now),
        attempt: event.attempt,
        ...(event.message === undefined ? {} : { message: event.message, level: 'warning' as const }),
      }));
    case 'result': {
      const artifacts = event.artifacts === undefined ? s.artifacts : s.artifacts.concat(event.artifacts);
      if (artifacts.length > LIMITS.artifacts) {
        throw new LiveopError(
          'invalid',
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
      if (event.next === s.id) throw new LiveopError('invalid', 'next: a session cannot chain to itself');
      const nextSession = context.resolveNext?.(event.next) ?? { id: event.next, streamUrl: null, viewerToken: null };
      // Chaining finishes this session (liveops' chain_to): what still runs completes.
      const tasks = s.tasks.map((t) => (t.status === 'pending' || t.status === 'running' ? completeTask(t, now) : t));
      return { ...s, tasks, next: nextSession };
    }
    case 'heartbeat':
      if (event.task !== undefined) return updateTask(s, event.task, now, (t) => t);
      return {
        ...s,
        tasks: s.tasks.map((t) => (t.status === 'running' ? { ...resumed(t, now, s.options), lastEventAt: now } : t)),
      };
    case 'queued':
      return { ...s, queuePosition: event.position };
    default:
      throw new LiveopError('invalid', `unknown event type ${String((event as { type: unknown }).type)}`);
  }
}

function updateTask(
  s: StoredSession,
  taskId: string,
  now: number,
  change: (task: StoredTask) => StoredTask,
): StoredSession {
  const index = s.tasks.findIndex((t) => t.id === taskId);
  const stored = s.tasks[index];
  if (stored === undefined) throw new LiveopError('not_found', `unknown task "${taskId}"`);
  const task = resumed(stored, now, s.options);
  if (task.status !== 'pending' && task.status !== 'running') {
    throw new LiveopError('conflict', `task "${taskId}" has already ended (${task.status})`);
  }
  // `s` is the batch's draft (see applyEvents); the task itself is shared, so it is replaced.
  const changed = { ...change(task), lastEventAt: now };
  s.tasks[index] = changed;
  s.startedAt ??= now;
  // A task under way is out of the queue.
  if (changed.status !== 'pending' && s.queuePosition !== undefined) s.queuePosition = undefined;
  return s;
}

/** A task that is done: at 100 at once (the closing ramp to 100 is the view's). */
function completeTask(task: StoredTask, now: number): StoredTask {
  const started = startTask(task, now);
  return { ...started, status: 'complete', completedAt: now, reported: 100, anchor: 100, anchorAt: now };
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
  steps?: { done: number; total: number; unit?: string },
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

/**
 * A task's bar from 0 again, with no rate (so no ETA) and no count: the count
 * belonged to the stage or attempt that ended, and a bar back at 0 beside
 * "40 / 40" would contradict it.
 */
function fromZero(task: StoredTask, now: number): StoredTask {
  return {
    ...task,
    reported: 0,
    anchor: 0,
    anchorAt: now,
    progress: null,
    done: undefined,
    total: undefined,
    unit: undefined,
  };
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
    throw new LiveopError('invalid', `name: the session already has ${LIMITS.stages} stages, the most it may have`);
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
  const tasks = s.tasks.map((t) => (t.status === 'running' ? { ...fromZero(t, now), lastEventAt: now } : t));
  return { ...s, stages: entered, tasks, startedAt: s.startedAt ?? now };
}
