/**
 * The protocol's bounds (`LIMITS`) and the ids it reserves. No dependencies.
 */

import { GROUPING_LIMITS } from './grouping.ts';

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
  /** A `steps` event's `unit`. */
  unitLength: 40,
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
  /** An `Idempotency-Key`: printable ASCII, no spaces. */
  idempotencyKeyLength: 200,
  /** Idempotency keys a session remembers (its last batches'). */
  idempotencyKeys: 100,
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
  /** Output streams a session has; their names are ids. */
  outputStreams: 32,
  /** What one output stream retains (characters of text, or of a data stream's JSON); past it the oldest goes. */
  outputLength: 256 * 1024,
  /** What a session's output streams retain together; past it the stream being written drops its oldest. */
  sessionOutputLength: 1024 * 1024,
  /** A log entry's `data`, an output `data` chunk, a message's `params`: characters of JSON. */
  dataLength: 8 * 1024,
  /** A message's `key`. */
  messageKeyLength: 200,
  ...GROUPING_LIMITS,
} as const;

/**
 * Ids that JavaScript objects treat specially: as a key of a plain object,
 * `__proto__` would vanish instead of naming a task.
 */
export const RESERVED_IDS: readonly string[] = ['__proto__', 'constructor', 'prototype'];
