/**
 * One request to the server, tried again when that is safe: after no answer
 * (only for requests that may be repeated), a `503`, a `429`, or a gateway's
 * `502`/`504` (only for requests that may be repeated), with backoff.
 * Anything else that is not `2xx` is a LiveopClientError with the contract's
 * `{code, message}` and the status.
 */
import { retryAfterMs, retryDelayMs, sleep } from './backoff.ts';
import { errorFromResponse, LiveopClientError, networkError } from './errors.ts';
import type { ResolvedOptions } from './options.ts';

export interface Call {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  /** `Authorization: Bearer …` (a token or an API key), if any. */
  credential?: string | undefined;
  /** A JSON body. */
  body?: string;
  headers?: Record<string, string>;
  /**
   * Whether sending it twice does no harm (a read, a cancel, an events batch
   * with an `Idempotency-Key`): only then is it retried after no answer.
   */
  repeatable: boolean;
  /** Names the request in errors (`POST /sessions/…/events`). */
  what: string;
}

type Transport = Pick<ResolvedOptions, 'fetch' | 'retry' | 'timeoutMs'>;

/** The answer's JSON (undefined for an empty body), after the retries the call allows. */
export async function request<T>(transport: Transport, call: Call): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...call.headers };
  if (call.credential) headers.Authorization = `Bearer ${call.credential}`;
  if (call.body !== undefined) headers['Content-Type'] = 'application/json';
  const { attempts } = transport.retry;
  for (let retry = 0; ; retry++) {
    let response: Response;
    let text: string;
    try {
      response = await transport.fetch(call.url, {
        method: call.method,
        headers,
        ...(call.body === undefined ? {} : { body: call.body }),
        ...(transport.timeoutMs > 0 ? { signal: AbortSignal.timeout(transport.timeoutMs) } : {}),
      });
      if (!response.ok) {
        const wait = retryAfterMs(response);
        const error = await errorFromResponse(response);
        if (!retryable(response.status, call.repeatable) || retry >= attempts) throw error;
        await sleep(retryDelayMs(retry, transport.retry, wait));
        continue;
      }
      text = await response.text();
    } catch (error) {
      if (error instanceof LiveopClientError) throw error;
      // No answer (or the answer broke off): the request may or may not have been applied,
      // unless the connection was refused (which only some runtimes tell, e.g. Node's fetch).
      if (!(call.repeatable || refused(error)) || retry >= attempts) throw networkError(call.what, error);
      await sleep(retryDelayMs(retry, transport.retry));
      continue;
    }
    try {
      return (text === '' ? undefined : JSON.parse(text)) as T;
    } catch {
      const status = response.status;
      throw new LiveopClientError(`${call.what}: the answer is not JSON: ${text.slice(0, 200)}`, {
        status,
        code: 'invalid_answer',
      });
    }
  }
}

/** The connection was refused: nothing was sent. */
function refused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return cause?.code === 'ECONNREFUSED';
}

/** `429` and `503` say the request was not applied; a gateway's `502`/`504` say nothing sure. */
function retryable(status: number, repeatable: boolean): boolean {
  return status === 429 || status === 503 || (repeatable && (status === 502 || status === 504));
}
