/**
 * One error type and one handler make every error answer of the contract:
 * `{ "error": { "code", "message" } }` with the right status.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ERROR_CODES, type ErrorBody, type ErrorStatus } from '../../protocol/index.ts';
import { type ErrorKind, LiveopError } from '../core/errors.ts';
import { StoreUnavailable } from '../store/session-store.ts';
import { requestAborted } from './node-bindings.ts';

export class ApiError extends Error {
  constructor(
    readonly status: ErrorStatus,
    message: string,
    readonly code: string = ERROR_CODES[status],
    /** Seconds for `Retry-After` (429 and 503; defaults 1 and 2). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function errorBody(status: ErrorStatus, message: string, code: string = ERROR_CODES[status]): ErrorBody {
  return { error: { code, message } };
}

/** The contract's status for each kind of domain error. */
export const STATUS_OF: Record<ErrorKind, ErrorStatus> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
};

/** Maps anything thrown in a handler to the contract's error answer. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof StoreUnavailable) {
    return new ApiError(503, 'the session store is unavailable; try again', undefined, error.retryAfterSeconds);
  }
  if (error instanceof LiveopError) {
    return new ApiError(STATUS_OF[error.kind], error.message, error.code, error.retryAfterSeconds);
  }
  // Hono's own HTTPExceptions (e.g. from middleware) carry a status.
  const status = (error as { status?: number } | null)?.status;
  if (typeof status === 'number' && status in ERROR_CODES) {
    return new ApiError(status as ErrorStatus, (error as Error).message || ERROR_CODES[status as ErrorStatus]);
  }
  return new ApiError(500, 'internal error');
}

export function respondError(c: Context, error: unknown): Response {
  // A body cut off by its client is the client's doing: an answer it will not read, and no stack in the log.
  const api = requestAborted(c)
    ? new ApiError(400, 'the request was aborted before its body arrived')
    : toApiError(error);
  if (api.status === 500) console.error(error);
  if (api.status === 429 || api.status === 503) {
    c.header('Retry-After', String(api.retryAfter ?? (api.status === 429 ? 1 : 2)));
  }
  return c.json(errorBody(api.status, api.message, api.code), api.status as ContentfulStatusCode);
}
