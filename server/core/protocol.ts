/**
 * The Liveop wire protocol, v1: every type that crosses the wire lives here,
 * once. The server validates incoming bodies with the zod schemas below; the
 * element only ever does `import type` from this file, so zod never reaches the
 * browser bundle.
 */
import { z } from 'zod';

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

/** Bounds on what one session may hold, so a bad reporter cannot exhaust memory. */
export const LIMITS = {
  idLength: 128,
  nameLength: 500,
  textLength: 10_000,
  logLineLength: 10_000,
  tasks: 1_000,
  stages: 100,
  artifacts: 100,
  eventsPerBatch: 10_000,
} as const;

// ------------------------------------------------------------ create body ---

const taskId = z
  .string()
  .min(1)
  .max(LIMITS.idLength)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only');
const name = z.string().min(1).max(LIMITS.nameLength);
const text = z.string().max(LIMITS.textLength);

export const taskSpecSchema = z.object({
  id: taskId,
  name,
  weight: z.number().positive().max(1_000_000).optional(),
  expectedMs: z
    .number()
    .int()
    .positive()
    .max(7 * 24 * 3600 * 1000)
    .optional(),
});
export type TaskSpec = z.infer<typeof taskSpecSchema>;

export const createSessionSchema = z
  .object({
    title: z.string().max(LIMITS.nameLength).optional(),
    tasks: z.union([z.record(taskId, name), z.array(taskSpecSchema).max(LIMITS.tasks)]),
    stages: z.array(name).max(LIMITS.stages).optional(),
    ttlSeconds: z
      .number()
      .int()
      .min(1)
      .max(30 * 24 * 3600)
      .optional(),
    owner: z.string().min(1).max(LIMITS.nameLength).optional(),
    stallAfterMs: z.number().int().min(1_000).optional(),
    deadAfterMs: z.number().int().min(1_000).optional(),
    expectedMs: z.number().int().positive().optional(),
  })
  .strict();
export type CreateSessionInput = z.infer<typeof createSessionSchema>;

// ---------------------------------------------------------------- events ---

const level = z.enum(MESSAGE_LEVELS);
const artifact = z
  .object({
    name,
    url: z.string().max(4_000).optional(),
    text: text.optional(),
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
      done: z.number().int().min(0),
      total: z.number().int().min(1),
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
  z.object({ type: z.literal('error'), task: taskId.optional(), message: text }).strict(),
  z
    .object({
      type: z.literal('retry'),
      task: taskId,
      attempt: z.number().int().min(1),
      message: text.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('result'),
      data: z.unknown().optional(),
      artifacts: z.array(artifact).max(LIMITS.artifacts).optional(),
    })
    .strict(),
  z.object({ type: z.literal('cancelled') }).strict(),
  z.object({ type: z.literal('chain'), next: z.string().min(1).max(LIMITS.idLength) }).strict(),
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
export type StreamLine = Snapshot | HeartbeatLine | GoneLine | ReconnectLine;

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
