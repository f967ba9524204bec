/**
 * The progress model as it is stored: a session, its tasks and log, the
 * per-session options, and a fresh session from a validated create body.
 * Pure data; the rules over it are status.ts (time), reducer.ts (events)
 * and aggregate.ts (the overall percent).
 */
import type {
  Artifact,
  ChildCounts,
  CreateSessionInput,
  MessageLevel,
  NextSession,
  SessionError,
  StageState,
  StatusMessage,
  TaskStatus,
} from '../../protocol/index.ts';
import { LiveopError } from './errors.ts';
import type { ProgressRate } from './eta.ts';

/** A task's stored status: the wire's (a task is `complete` the moment `complete` arrives). */
export type StoredTaskStatus = TaskStatus;

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
  /** When `complete` arrived. */
  completedAt: number | null;
  lastEventAt: number | null;
  /** Rate of real progress in the current stage (eta.ts). */
  progress: ProgressRate | null;
  message?: string;
  level?: MessageLevel;
  done?: number;
  total?: number;
  unit?: string;
  attempt?: number;
}

export interface StoredLog {
  seq: number;
  at: number;
  line: string;
  /** The structured item sent beside the line. */
  data?: Record<string, unknown>;
  /** The session version that added it: a stream resumed `after` a version knows its log cursor. */
  v: number;
}

/** One output stream as stored (outputs.ts appends, bounds and reads it). */
export interface StoredOutput {
  /** A text stream's retained text. */
  text?: string;
  /** A data stream's retained chunks, and their size as JSON. */
  data?: unknown[];
  size?: number;
  /** Characters (or chunks) dropped from the front past the bounds. */
  dropped: number;
  /** The version that created the stream. */
  since: number;
  /** The version that last appended to it (this batch's draft when it is the batch's version). */
  v: number;
  /**
   * `[version, end]` after each of the last batches that appended to it: a
   * stream resumed `after` a version starts where that version left it.
   */
  marks: [number, number][];
}

export interface SessionOptions {
  /** A running task with no event for this long shows `stalled`. @default 30000 */
  stallAfterMs: number;
  /** A session with no event at all for this long fails ("worker lost"). @default 600000 */
  deadAfterMs: number;
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
  logLimit: 1_000,
  expectedMs: 30_000,
  cancelGraceMs: 30_000,
};

export const DEFAULT_TTL_SECONDS = 300;

/** A new parent's rollup, but for how many children it expects. */
const NO_CHILDREN = { total: 0, pending: 0, running: 0, complete: 0, error: 0, cancelled: 0, sum: 0 };

/** What a parent keeps of its children (rollup.ts changes it). */
export interface ChildRollup extends ChildCounts {
  /** The children's whole percents, summed (each 0..100). */
  sum: number;
}

export interface StoredSession {
  id: string;
  owner: string | null;
  /** The end user it is for, under the owner (see `CreateSessionInput.subject`). */
  subject?: string;
  title: string;
  version: number;
  createdAt: number;
  startedAt: number | null;
  /** Set by the event that ended it (the last `complete`, an error, a cancel, a chain). */
  finishedAt: number | null;
  /** Last stored change. */
  updatedAt: number;
  /** Last event of any kind (heartbeats included): the dead-worker clock. */
  lastEventAt: number;
  ttlSeconds: number;
  options: SessionOptions;
  tasks: StoredTask[];
  stages: { name: string; state: StageState }[];
  message: StatusMessage | null;
  logs: StoredLog[];
  logSeq: number;
  /** Output streams by name (outputs.ts); absent until the first `output` event. */
  outputs?: Record<string, StoredOutput>;
  result: unknown;
  artifacts: Artifact[];
  error: SessionError | null;
  /** The error's detail (a stack trace): for the owner and admins, never in a viewer's snapshot. */
  errorDetail?: string;
  /** While the work waits in a queue: its position (1: next). */
  queuePosition?: number;
  cancelRequested: boolean;
  cancelRequestedAt: number | null;
  cancelled: boolean;
  next: NextSession | null;
  /** Rate of the overall reported percent, for the overall ETA. */
  progress: ProgressRate | null;
  /**
   * The idempotency keys of the last batches applied (newest last, at most
   * `LIMITS.idempotencyKeys`) and the version each produced: a retried batch
   * is recognised inside the same atomic update, on any instance.
   */
  batches?: { key: string; version: number }[];
  /** Where its final snapshot is POSTed once it has ended. */
  webhook?: string;
  /** The URL prefix its creator reached the API at: chained sessions' stream URLs start with it. */
  base?: string;
  /** The registered operation (and its input) this session runs, so it can be restarted. */
  operation?: { name: string; input: unknown };
  /** Labels to find it by (`?tag=k:v`). */
  tags?: Record<string, string>;
  /** A child's parent. */
  parent?: string;
  /** A parent's children, rolled up (rollup.ts). */
  children?: ChildRollup;
}

export interface NewSession extends Omit<CreateSessionInput, 'tasks' | 'expectedChildren'> {
  expectedChildren?: number | undefined;
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
    ...(input.subject === undefined ? {} : { subject: input.subject }),
    title: input.title ?? '',
    ...(input.webhook === undefined ? {} : { webhook: input.webhook }),
    ...(input.tags === undefined ? {} : { tags: input.tags }),
    ...(input.parent === undefined ? {} : { parent: input.parent }),
    ...(input.expectedChildren === undefined ? {} : { children: { expected: input.expectedChildren, ...NO_CHILDREN } }),
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

/**
 * A session as any version stored it, in this version's terms. Before the
 * server said `complete` at once, a completed task was stored `completing`
 * while its bar ramped to 100 (400 ms), and `finishedAt` was derived: such a
 * task is `complete`, and a session whose tasks all are ended when the last
 * of them completed. Sessions written since come back as they are.
 */
export function fromStored(session: StoredSession): StoredSession {
  const tasks: unknown = session?.tasks;
  const legacy = (task: StoredTask) => (task?.status as string) === 'completing';
  if (!Array.isArray(tasks) || !tasks.some(legacy)) return session;
  const upgraded = tasks.map((task: StoredTask) => (legacy(task) ? { ...task, status: 'complete' as const } : task));
  const ended = upgraded.every((task) => task.status === 'complete');
  const finishedAt = session.finishedAt ?? (ended ? Math.max(...upgraded.map((t) => t.completedAt ?? 0)) : null);
  return { ...session, tasks: upgraded, finishedAt };
}

/** The fields of `value` that are not undefined (so they don't overwrite defaults when spread). */
export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function normaliseTasks(input: NewSession): { id: string; name: string; weight?: number; expectedMs?: number }[] {
  const tasks = input.tasks;
  if (tasks === undefined) return [{ id: 'main', name: input.title || 'Working' }];
  const list = Array.isArray(tasks) ? tasks : Object.entries(tasks).map(([id, name]) => ({ id, name }));
  if (list.length === 0) throw new LiveopError('invalid', 'tasks: give at least one task (or leave tasks out for one)');
  const seen = new Set<string>();
  for (const task of list) {
    if (seen.has(task.id)) throw new LiveopError('invalid', `tasks: task id "${task.id}" appears twice`);
    seen.add(task.id);
  }
  return list;
}
