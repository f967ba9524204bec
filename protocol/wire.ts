/**
 * The Liveop wire protocol, v1: every type and constant that crosses the
 * wire, once. No dependencies and no Node APIs: the server, the element, the
 * client and the CLI all import it (the element and the client ship it to
 * browsers). The server's validation of these shapes is `server/core/schemas.ts`,
 * checked at compile time to produce exactly these types.
 */

import type { GroupingInput, GroupingSnapshot } from './grouping.ts';
import type { MessageParams } from './messages.ts';
import type { OutputChunk } from './outputs.ts';

export const PROTOCOL_VERSION = 1;

export const TASK_STATUSES = ['pending', 'running', 'complete', 'error', 'cancelled'] as const;
/** A task's status on the wire. */
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const SESSION_STATUSES = ['pending', 'running', 'complete', 'error', 'cancelled'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const STAGE_STATES = ['pending', 'active', 'done', 'failed', 'cancelled'] as const;
export type StageState = (typeof STAGE_STATES)[number];

export const MESSAGE_LEVELS = ['info', 'warning', 'error'] as const;
export type MessageLevel = (typeof MESSAGE_LEVELS)[number];

export const TOKEN_SCOPES = ['view', 'view+cancel', 'report'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** Terminal statuses: a session in one of these accepts no more events, and its stream ends. */
export const TERMINAL_STATUSES = ['complete', 'error', 'cancelled'] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

/**
 * Whether a session (or task) with this status has ended. Takes any string, so
 * a status a newer server invented is simply "not ended" here.
 */
export const isTerminal = (status: string): status is TerminalStatus =>
  (TERMINAL_STATUSES as readonly string[]).includes(status);

// ------------------------------------------------------------ create body ---

/** A task as `POST /sessions` declares it in the array form. */
export interface TaskSpec {
  /** `[A-Za-z0-9_.:-]`, up to `LIMITS.idLength`. */
  id: string;
  name: string;
  /** Its share of the overall percent. @default 1 */
  weight?: number;
  /** How long it is expected to take: paces the eased percent before real reports arrive. */
  expectedMs?: number;
}

/** The body of `POST /sessions`. */
export interface CreateSessionInput extends GroupingInput {
  title?: string;
  /** `{id: name}` or `[{id, name, weight?, expectedMs?}]`; left out: one task, `main`. */
  tasks?: Record<string, string> | TaskSpec[];
  stages?: string[];
  /** Kept this long after its last change once it has ended. @default 300 */
  ttlSeconds?: number;
  /** Whose session it is (an admin key may create for others). @default the key's owner */
  owner?: string;
  /**
   * The end user it is for, under the owner's key (e.g. a site's user id):
   * `GET /sessions?subject=` lists theirs. Shown to the key, never to tokens.
   */
  subject?: string;
  /** A running task with no event for this long shows `stalled`. @default 30000 */
  stallAfterMs?: number;
  /** A session with no event at all for this long fails ("the worker was lost"). @default 600000 */
  deadAfterMs?: number;
  /** The pace of the eased percent for tasks without their own `expectedMs`. @default 30000 */
  expectedMs?: number;
  /** Rights of the viewer token handed back. @default 'view' with API keys, 'view+cancel' in open mode */
  viewerScope?: 'view' | 'view+cancel';
  /** An http(s) URL that receives the final snapshot, signed, once the session has ended. */
  webhook?: string;
}

// ---------------------------------------------------------------- events ---

export interface Artifact {
  name: string;
  url?: string;
  text?: string;
}

/** Every event a reporter may send (`POST /sessions/:id/events`). */
export type ProgressEvent =
  | { type: 'start'; task: string }
  | { type: 'percent'; task: string; value: number }
  /** `unit`: what is counted (`rows`, `files`), shown beside the count. */
  | { type: 'steps'; task: string; done: number; total: number; unit?: string }
  /** `key` and `params`: a translation key a viewer renders from its catalogue (`text`: the fallback). */
  | { type: 'message'; task?: string; text: string; level?: MessageLevel; key?: string; params?: MessageParams }
  /** `data`: a JSON object beside the line (one `line` only), which a page may render through its own template. */
  | { type: 'log'; line?: string; lines?: string[]; data?: Record<string, unknown> }
  /** Appends `text`, or one JSON chunk `data`, to the output stream `stream` (a stream holds one kind). */
  | { type: 'output'; stream: string; text?: string; data?: unknown }
  | { type: 'stage'; name: string; state?: StageState }
  | { type: 'complete'; task: string; message?: string }
  /** `detail` (a stack trace, say) is kept for the owner and admins: viewers see only `message`. */
  | { type: 'error'; task?: string; message: string; detail?: string }
  | { type: 'retry'; task: string; attempt: number; message?: string }
  | { type: 'result'; data?: unknown; artifacts?: Artifact[] }
  | { type: 'cancelled' }
  /**
   * `token`: the next session's reporter token, when the reporter holds only
   * this session's token (a reporter may chain only to a session it may
   * report to). Checked, never stored.
   */
  | { type: 'chain'; next: string; token?: string }
  | { type: 'heartbeat'; task?: string }
  /** The work waits in a queue, `position` jobs from the front (1: next). Any task starting clears it. */
  | { type: 'queued'; position: number };
export type EventType = ProgressEvent['type'];

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
  /** What `done` / `total` count (`rows`). */
  unit?: string;
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
  /** The structured item the reporter sent beside the line. */
  data?: Record<string, unknown>;
}

/** The session's latest status message. */
export interface StatusMessage {
  text: string;
  level: MessageLevel;
  /** The message as a translation key (`text` is the fallback), with its parameters. */
  key?: string;
  params?: MessageParams;
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

export interface Snapshot extends GroupingSnapshot {
  type: 'snapshot';
  id: string;
  version: number;
  title: string;
  status: SessionStatus;
  percent: number;
  etaMs: number | null;
  tasks: TaskSnapshot[];
  stages: StageSnapshot[];
  message: StatusMessage | null;
  logs: LogEntry[];
  /** Output streams by name, when there are any: all that is retained on a read, what is new on a stream line. */
  outputs?: Record<string, OutputChunk>;
  /** Highest log seq the session holds (lets a client see what it may have missed). */
  logSeq: number;
  result: unknown;
  artifacts: Artifact[];
  error: SessionError | null;
  cancelRequested: boolean;
  next: NextSession | null;
  /** While the work waits in a queue: how many jobs are ahead of it, plus one (1: next). */
  queuePosition?: number;
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
/**
 * A fresh viewer token for session `id`, sent on a stream before the one it
 * was opened with expires: a viewer that stays open longer than a token lives
 * keeps working (it reconnects and cancels with this one).
 */
export interface TokenLine {
  type: 'token';
  id: string;
  token: string;
  /** When it expires (ISO 8601). */
  expiresAt: string;
}

/** The lines about one session (each carries its `id`). */
export type SessionLine = Snapshot | GoneLine | StreamErrorLine;
export type StreamLine = SessionLine | HeartbeatLine | ReconnectLine | TokenLine;

// --------------------------------------------------------------- answers ---

export interface CreatedSession {
  id: string;
  /** A page on this server that shows the session (its viewer token in the link): one to share. */
  watchUrl: string;
  viewerToken: string;
  reporterToken: string;
  streamUrl: string;
  snapshotUrl: string;
}

/**
 * `POST /operations/:name` answered to a visitor (no credential; an operation
 * registered with `visitors: true`): the session to watch and cancel, without
 * the reporter token — only the operation reports.
 */
export type VisitorSession = Omit<CreatedSession, 'reporterToken'>;

export interface EventsAccepted {
  version: number;
  cancelRequested: boolean;
}

/** One entry of `GET /sessions`: the session's snapshot, its owner, and what a page needs to open it live. */
export interface ListedSession extends Snapshot {
  owner: string | null;
  streamUrl: string;
  /** A view-only token for `streamUrl`. */
  viewerToken: string;
  /** The registered operation it runs, when it was started as one: such a session can be restarted once it ended. */
  operation?: string;
}

/** `GET /sessions`: a page of sessions, newest first; `cursor` asks for the next page (null: no more). */
export interface SessionList {
  sessions: ListedSession[];
  cursor: string | null;
}

export const ERROR_CODES = {
  400: 'invalid_body',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'body_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  500: 'internal_error',
  503: 'unavailable',
} as const;
export type ErrorStatus = keyof typeof ERROR_CODES;

/**
 * The code of a `404` for a token signed by an earlier run of a server that
 * kept its sessions (and its token secret) in memory: the session is gone for
 * good, so a viewer shows that and a reporter stops.
 */
export const SERVER_RESTARTED = 'server_restarted';

export interface ErrorBody {
  error: { code: string; message: string };
}
