/**
 * One error type and one handler make every error answer of the contract:
 * `{ "error": { "code", "message" } }` with the right status.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { type ErrorKind, LiveopError } from '../core/errors';
import { ERROR_CODES, type ErrorBody, type ErrorStatus } from '../protocol';
import { StoreUnavailable } from '../store/session-store';

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
    return new ApiError(STATUS_OF[error.kind], error.message, undefined, error.retryAfterSeconds);
  }
  // Hono's own HTTPExceptions (e.g. from middleware) carry a status.
  const status = (error as { status?: number } | null)?.status;
  if (typeof status === 'number' && status in ERROR_CODES) {
    return new ApiError(status as ErrorStatus, (error as Error).message || ERROR_CODES[status as ErrorStatus]);
  }
  return new ApiError(500, 'internal error');
}

export function respondError(c: Context, error: unknown): Response {
  const api = toApiError(error);
  if (api.status === 500) console.error(error);
  if (api.status === 429 || api.status === 503) {
    c.header('Retry-After', String(api.retryAfter ?? (api.status === 429 ? 1 : 2)));
  }
  return c.json(errorBody(api.status, api.message, api.code), api.status as ContentfulStatusCode);
}

/** "tasks.0.id: Invalid string" — the message names the field. */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .flatMap((issue) => explain(issue))
    .slice(0, 5)
    .map(({ path, message }) => {
      const field = [prefix, ...path.map(String)].filter((p) => p !== '').join('.');
      return field ? `${field}: ${message}` : message;
    })
    .join('; ');
}

type Issue = z.core.$ZodIssue;

/**
 * An issue as a reader needs it. A union that failed says only "Invalid
 * input"; this looks into its branches: the one that matched the value's
 * shape says what is wrong inside it, and when none did, what was expected.
 */
function explain(issue: Issue): { path: PropertyKey[]; message: string }[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0)
    return [{ path: issue.path, message: issue.message }];
  const branches = issue.errors.map((errors) =>
    errors.map((e) => ({ ...e, path: [...issue.path, ...e.path] }) as Issue),
  );
  const shaped = branches.find(
    (branch) => !branch.every((e) => e.code === 'invalid_type' && e.path.length === issue.path.length),
  );
  if (shaped) return shaped.flatMap((e) => explain(e));
  const expected = branches.map((branch) => {
    const first = branch[0];
    const type = first?.code === 'invalid_type' ? first.expected : 'something else';
    return type === 'record' ? 'an object' : type === 'array' ? 'an array' : type;
  });
  return [{ path: issue.path, message: `expected ${[...new Set(expected)].join(' or ')}` }];
}

/** Parses with a schema or throws a 400 that names the field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError(400, describeIssues(parsed.error, prefix));
  return parsed.data;
}
