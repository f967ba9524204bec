/**
 * Validation at the HTTP edge: each route names its zod schemas (from
 * server/core/schemas.ts) through these middlewares, in Hono's validator
 * style (`c.req.valid('json')` is typed), so the schemas are the single
 * description of what each route takes.
 *
 * Bodies are read through the Node fast path (server/http/node-bindings.ts)
 * rather than Hono's `validator('json')`, which reads `Content-Type` through a
 * web `Headers` object per request and treats a wrong content type as an
 * empty body: here it is a 415, as the contract says.
 */
import type { MiddlewareHandler } from 'hono';
import { validator } from 'hono/validator';
import type { z } from 'zod';
import { LIMITS, LineSplitter } from '../../protocol/index.ts';
import { findTooDeep } from '../core/json-shape.ts';
import { parse } from '../core/schemas.ts';
import { ApiError } from './errors.ts';
import { bodyText } from './middleware.ts';
import { requestHeader } from './node-bindings.ts';

type Validated<T> = { in: { json: unknown }; out: { json: T } };

/**
 * A JSON body (an empty one reads as `{}`), checked against `schema`.
 * `events: true` also takes NDJSON (one value a line) and wraps a single
 * value in an array, as the events route does.
 */
export function jsonBody<S extends z.ZodType>(
  schema: S,
  options: { prefix?: string; events?: boolean } = {},
): MiddlewareHandler<object, string, Validated<z.output<S>>> {
  const prefix = options.prefix ?? '';
  return async (c, next) => {
    const type = requestHeader(c, 'content-type') ?? '';
    const text = await bodyText(c);
    let value: unknown;
    if (text === '' && !options.events) {
      value = {}; // no body at all: an empty object, whatever the content type says
    } else if (options.events && /^application\/(x-)?ndjson\b/i.test(type)) {
      const splitter = new LineSplitter();
      const lines = [...splitter.push(text), ...splitter.flush()];
      value = lines.map((line, i) => parseJson(line, `${prefix}[${i}]: line ${i + 1} is not valid JSON`));
    } else if (/^application\/json\b/i.test(type)) {
      value = text.trim() === '' && !options.events ? {} : parseJson(text, 'the body is not valid JSON');
      if (options.events && !Array.isArray(value)) value = [value];
    } else {
      throw new ApiError(
        415,
        options.events
          ? 'send Content-Type: application/json (an array of events) or application/x-ndjson'
          : 'send Content-Type: application/json',
      );
    }
    // Events are counted from the batch, whatever the body's form: `events.3.data.0.0…`.
    checkDepth(value, prefix, LIMITS.jsonDepth);
    c.req.addValidatedData('json', parse(schema, value, prefix) as object);
    await next();
  };
}

/** The query string, checked against `schema` (Hono's own validator: it reads no headers). */
export const queryOf = <S extends z.ZodType>(schema: S) =>
  validator('query', (value) => parse(schema, value, 'query') as z.output<S>);

function parseJson(text: string, invalid: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, invalid);
  }
}

/**
 * JSON within `maxDepth` levels, or a 400 naming where it is not. Checked
 * before anything else sees the value: one nested thousands deep parses fine
 * but cannot be encoded again.
 */
function checkDepth(value: unknown, prefix: string, maxDepth: number): void {
  const deep = findTooDeep(value, maxDepth);
  if (deep !== null) {
    throw new ApiError(400, `${[prefix, deep.path].filter((p) => p !== '').join('.')}: ${deep.problem}`);
  }
}
