/**
 * The Liveop wire protocol, v1: every type that crosses the wire lives here,
 * once. The server validates incoming bodies with the zod schemas below; the
 * element only ever does `import type` from this file, so zod never reaches the
 * browser bundle.
 */
import { z } from 'zod';
import { findTooDeep } from './json-shape';

export const PROTOCOL_VERSION = 1;

export const TASK_STATUSES = ['pending', 'running', 'complete', 'error', 'cancelled'] as const;
/** A task's status on the wire. (`completing` is internal and shown as `running`.) */
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const SESSION_STATUSES = ['pending', 'running', 'complete', 'error', 'cancelled'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const STAGE_STATES = ['pending', 'active', 'done', 'failed', 'cancelled'] as const;
export type StageState = (typeof STAGE_STATES)[number];

export const MESSAGE_LEVELS = ['info', 'warning', 'error'] as const;
export type MessageLevel = (typeof MESSAGE_LEVELS)[number];

export const TOKEN_SCOPES = ['view', 'view+cancel', 'report'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** Terminal statuses: a session in one of these accepts no more events. */
export const TERMINAL_STATUSES: readonly SessionStatus[] = ['complete', 'error', 'cancelled'];
export const isTerminal = (status: SessionStatus): boolean => TERMINAL_STATUSES.includes(status);

// ---------------------------------------------------------------- limits ---

/**
 * Bounds on what a client may send and a session may hold, so that no
 * reporter — careless or hostile — can exhaust memory, stall the event loop
 * or store a value the server cannot encode again. Each is checked where the
 * value enters (a 400 naming the field), and docs/protocol.md states them.
 */
export const LIMITS = {
  /** Task ids, and a `chain`'s `next`. */
  idLength: 128,
  /** Titles, task names, stage names, artifact names. */
  nameLength: 500,
  /** Status messages (`message`, `complete` and `retry` messages). */
  messageLength: 2_000,
  /** Error messages (`error`). */
  errorLength: 10_000,
  /** One log line; the session keeps the newest `logLimit` (1,000) lines. */
  logLineLength: 2_000,
  /** An artifact's URL. */
  urlLength: 4_000,
  /** An artifact's inline text. */
  artifactTextLength: 10_000,
  /** Tasks a session has (both forms of `tasks`). */
  tasks: 1_000,
  /** Stages a session has, declared at creation or added by `stage` events. */
  stages: 100,
  /** Artifacts a session holds, across all `result` events. */
  artifacts: 100,
  /** Events in one batch (and lines in one `log` event). */
  eventsPerBatch: 10_000,
  /** How deep any JSON body (and so a result's `data`) may nest. */
  jsonDepth: 32,
  /** A result's `data`, in characters of JSON. */
  resultLength: 64 * 1024,
  /** `retry`'s attempt number. */
  attempts: 1_000,
  /** The largest duration a session may ask for (`deadAfterMs`, `stallAfterMs`, `expectedMs`): 7 days. */
  durationMs: 7 * 24 * 3600 * 1000,
  /** The longest a session may be kept after its last change (`ttlSeconds`): 30 days. */
  ttlSeconds: 30 * 24 * 3600,
} as const;

/**
 * Ids that JavaScript objects treat specially: as a key of a plain object,
 * `__proto__` would vanish instead of naming a task.
 */
export const RESERVED_IDS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

// ------------------------------------------------------------ create body ---

const taskId = z
  .string()
  .min(1)
  .max(LIMITS.idLength)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only')
  .refine((id) => !RESERVED_IDS.includes(id), { message: `must not be ${RESERVED_IDS.join(', ')}` });
const name = z.string().min(1).max(LIMITS.nameLength);
const text = z.string().max(LIMITS.messageLength);
const errorText = z.string().max(LIMITS.errorLength);
const duration = z.number().int().positive().max(LIMITS.durationMs);

/**
 * Any JSON value within `LIMITS.jsonDepth` levels and `maxLength`
 * characters once encoded. The depth is checked first, without recursion, so the size check
 * (which encodes) can never overflow the stack.
 */
export const jsonValue = (maxLength: number) =>
  z.unknown().superRefine((value, ctx) => {
    const deep = findTooDeep(value, LIMITS.jsonDepth);
    if (deep !== null) {
      ctx.addIssue({ code: 'custom', message: `${deep.problem}${deep.path ? ` (at ${deep.path})` : ''}` });
      return;
    }
    if (value === undefined) return;
    const length = (JSON.stringify(value) ?? '').length;
    if (length > maxLength) {
      ctx.addIssue({ code: 'custom', message: `is ${length} characters as JSON; at most ${maxLength}` });
    }
  });

export const taskSpecSchema = z.object({
  id: taskId,
  name,
  weight: z.number().positive().max(1_000_000).optional(),
  expectedMs: duration.optional(),
});
export type TaskSpec = z.infer<typeof taskSpecSchema>;

export const createSessionSchema = z
  .object({
    title: z.string().max(LIMITS.nameLength).optional(),
    tasks: z.union([
      // zod's record drops a `__proto__` key without a word: refuse reserved ids before it sees them.
      z.preprocess(
        (tasks, ctx) => {
          if (tasks !== null && typeof tasks === 'object') {
            for (const id of RESERVED_IDS) {
              if (Object.hasOwn(tasks, id)) ctx.addIssue({ code: 'custom', message: `"${id}" is not a task id` });
            }
          }
          return tasks;
        },
        z
          .record(taskId, name)
          .refine((tasks) => Object.keys(tasks).length <= LIMITS.tasks, { message: `at most ${LIMITS.tasks} tasks` }),
      ),
      z.array(taskSpecSchema).max(LIMITS.tasks),
    ]),
    stages: z.array(name).max(LIMITS.stages).optional(),
    ttlSeconds: z.number().int().min(1).max(LIMITS.ttlSeconds).optional(),
    owner: z.string().min(1).max(LIMITS.nameLength).optional(),
    stallAfterMs: duration.min(1_000).optional(),
    deadAfterMs: duration.min(1_000).optional(),
    expectedMs: duration.optional(),
  })
  .strict();
export type CreateSessionInput = z.infer<typeof createSessionSchema>;

// ---------------------------------------------------------------- events ---

const level = z.enum(MESSAGE_LEVELS);
const artifact = z
  .object({
    name,
    url: z.string().max(LIMITS.urlLength).optional(),
    text: z.string().max(LIMITS.artifactTextLength).optional(),
  })
  .strict();
export type Artifact = z.infer<typeof artifact>;

/** Every event a reporter may send. Unknown fields are refused, so typos surface. */
export const eventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), task: taskId }).strict(),
  z.object({ type: z.literal('percent'), task: taskId, value: z.number().min(0).max(100) }).strict(),
  z
    .object({
      type: z.literal('steps'),
      task: taskId,
      done: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      total: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    })
    .strict()
    .refine((e) => e.done <= e.total, { message: 'done must not exceed total', path: ['done'] }),
  z.object({ type: z.literal('message'), task: taskId.optional(), text, level: level.optional() }).strict(),
  z
    .object({
      type: z.literal('log'),
      line: z.string().max(LIMITS.logLineLength).optional(),
      lines: z.array(z.string().max(LIMITS.logLineLength)).max(LIMITS.eventsPerBatch).optional(),
    })
    .strict()
    .refine((e) => (e.line === undefined) !== (e.lines === undefined), {
      message: 'give exactly one of line or lines',
      path: ['line'],
    }),
  z.object({ type: z.literal('stage'), name, state: z.enum(STAGE_STATES).optional() }).strict(),
  z.object({ type: z.literal('complete'), task: taskId, message: text.optional() }).strict(),
  z.object({ type: z.literal('error'), task: taskId.optional(), message: errorText }).strict(),
  z
    .object({
      type: z.literal('retry'),
      task: taskId,
      attempt: z.number().int().min(1).max(LIMITS.attempts),
      message: text.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('result'),
      data: jsonValue(LIMITS.resultLength).optional(),
      artifacts: z.array(artifact).max(LIMITS.artifacts).optional(),
    })
    .strict(),
  z.object({ type: z.literal('cancelled') }).strict(),
  z
    .object({
      type: z.literal('chain'),
      next: z.string().min(1).max(LIMITS.idLength),
      /**
       * The next session's reporter token, when the reporter holds only this
       * session's token: a reporter may chain only to a session it may report to.
       * Checked, never stored.
       */
      token: z.string().min(1).max(1_000).optional(),
    })
    .strict(),
  z.object({ type: z.literal('heartbeat'), task: taskId.optional() }).strict(),
]);
export type ProgressEvent = z.infer<typeof eventSchema>;
export type EventType = ProgressEvent['type'];

export const eventBatchSchema = z.array(eventSchema).min(1).max(LIMITS.eventsPerBatch);

// -------------------------------------------------------------- snapshot ---

export interface TaskSnapshot {
  id: string;
  name: string;
  status: TaskStatus;
  /** Shown percent, integer 0..100 (eased while `simulated`). */
  percent: number;
  /** True while the shown percent runs ahead of the last real report. */
  simulated: boolean;
  /** True when a running task has had no event for `stallAfterMs`. */
  stalled: boolean;
  /** Smoothed estimate of the time left, or null while it cannot be estimated. */
  etaMs: number | null;
  message?: string;
  level?: MessageLevel;
  done?: number;
  total?: number;
  attempt?: number;
  /** Milliseconds since the task's last event, present while `stalled`. */
  idleMs?: number;
}

export interface StageSnapshot {
  name: string;
  state: StageState;
}

export interface LogEntry {
  seq: number;
  at: string;
  line: string;
}

export interface NextSession {
  id: string;
  streamUrl: string | null;
  viewerToken: string | null;
}

export interface SessionError {
  message: string;
  task?: string;
}

export interface Snapshot {
  type: 'snapshot';
  id: string;
  version: number;
  title: string;
  status: SessionStatus;
  percent: number;
  etaMs: number | null;
  tasks: TaskSnapshot[];
  stages: StageSnapshot[];
  message: { text: string; level: MessageLevel } | null;
  logs: LogEntry[];
  /** Highest log seq the session holds (lets a client see what it may have missed). */
  logSeq: number;
  result: unknown;
  artifacts: Artifact[];
  error: SessionError | null;
  cancelRequested: boolean;
  next: NextSession | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  expiresAt: string;
}

/** Lines a stream may carry besides snapshots. */
export interface HeartbeatLine {
  type: 'heartbeat';
}
/** The session was deleted or expired: the stream ends after this line. */
export interface GoneLine {
  type: 'gone';
  id: string;
}
/** The server is shutting down: reconnect (to any instance) and resume. */
export interface ReconnectLine {
  type: 'reconnect';
}
/**
 * This session cannot be served (its stored data cannot be encoded: written
 * past the limits by an older version). Its part of the stream ends after
 * this line; other sessions on the connection, and the server, carry on.
 */
export interface StreamErrorLine {
  type: 'error';
  id: string;
  error: { code: string; message: string };
}
/** The lines about one session (each carries its `id`). */
export type SessionLine = Snapshot | GoneLine | StreamErrorLine;
export type StreamLine = SessionLine | HeartbeatLine | ReconnectLine;

// --------------------------------------------------------------- answers ---

export interface CreatedSession {
  id: string;
  viewerToken: string;
  reporterToken: string;
  streamUrl: string;
  snapshotUrl: string;
}

export interface EventsAccepted {
  version: number;
  cancelRequested: boolean;
}

export const ERROR_CODES = {
  400: 'invalid_body',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'body_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  500: 'internal_error',
  503: 'unavailable',
} as const;
export type ErrorStatus = keyof typeof ERROR_CODES;

export interface ErrorBody {
  error: { code: string; message: string };
}
