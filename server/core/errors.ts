/**
 * The one error type of the model, the store, the sessions service and the
 * facade: a refusal with its kind. Nothing here knows HTTP; the HTTP layer
 * (server/http/errors.ts) maps each kind to the contract's status, and
 * in-process callers get the same kinds and messages an HTTP client would.
 */

export const ERROR_KINDS = [
  'invalid',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'rate_limited',
  'unavailable',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export class LiveopError extends Error {
  constructor(
    /** What kind of refusal: `invalid` input, `not_found`, a `conflict` with the session's state, … */
    readonly kind: ErrorKind,
    message: string,
    options: { cause?: unknown; retryAfterSeconds?: number; code?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LiveopError';
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.code = options.code;
  }

  /** A more precise code than the kind's own for the contract's error answer (`server_restarted`), if any. */
  readonly code: string | undefined;

  /** When to try again (`rate_limited`, `unavailable`), in seconds. */
  readonly retryAfterSeconds: number | undefined;
}
