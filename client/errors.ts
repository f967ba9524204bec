/** The one error the client throws, rejects with and hands to `onError`. */
import type { ProgressEvent } from '../protocol/index.ts';

/**
 * A request the server refused, an answer that never came, or a stream that
 * ended in a way a watcher must hear about. `code` and `message` are the
 * contract's `{"error": {"code", "message"}}` when the server answered one.
 *
 * @example
 * ```ts
 * try {
 *   await session.flush();
 * } catch (error) {
 *   if (error instanceof LiveopClientError && error.status === 400) console.error(error.code, error.message);
 * }
 * ```
 */
export class LiveopClientError extends Error {
  override readonly name = 'LiveopClientError';
  /**
   * The HTTP status of the refusal (`400`, `401`, `404`, `409`, …), or `null`
   * when no answer came (`code: 'network_error'`) or the error arrived on a
   * stream line (`code: 'gone'`, or the line's own code).
   */
  readonly status: number | null;
  /**
   * The contract's error code (`invalid_body`, `unauthorized`, `forbidden`,
   * `not_found`, `conflict`, `body_too_large`, `too_many_requests`,
   * `unavailable`, …); `network_error` when no answer came; `gone` when a
   * watched session was deleted or expired.
   */
  readonly code: string;
  /**
   * The reports the server refused and the client dropped, when a batch was
   * refused for some of its events: the others were sent again without them
   * (and applied). Empty for any other error.
   */
  readonly dropped: readonly ProgressEvent[];

  constructor(
    message: string,
    options: { status: number | null; code: string; cause?: unknown; dropped?: readonly ProgressEvent[] },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.code = options.code;
    this.dropped = options.dropped ?? [];
  }
}

/** The contract's error answer as a LiveopClientError (whatever the body holds). */
export async function errorFromResponse(response: Response): Promise<LiveopClientError> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    // the body broke off: the status still says what happened
  }
  let code = `http_${response.status}`;
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    if (text.trim() !== '') message = `${message}: ${text.trim().slice(0, 200)}`;
  }
  return new LiveopClientError(message, { status: response.status, code });
}

/** No answer came (after the retries allowed). */
export function networkError(what: string, cause: unknown): LiveopClientError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new LiveopClientError(`${what}: no answer from the server (${reason})`, {
    status: null,
    code: 'network_error',
    cause,
  });
}
