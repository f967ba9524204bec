/**
 * The server's validation of what clients send: zod schemas for the shapes of
 * the wire protocol (protocol), holding them to `LIMITS`. Unknown
 * fields are refused, so typos surface. The checks at the end make the
 * compiler prove that each schema produces exactly the protocol's type.
 */
import { z } from 'zod';
import {
  type Artifact,
  type CreateSessionInput,
  LIMITS,
  MESSAGE_LEVELS,
  type ProgressEvent,
  RESERVED_IDS,
  STAGE_STATES,
  type TaskSpec,
  TOKEN_SCOPES,
} from '../../protocol/index.ts';
import { LiveopError } from './errors.ts';
import { findTooDeep } from './json-shape.ts';

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
export const jsonValue = (maxLength: number) => z.unknown().superRefine(withinJson(maxLength));

function withinJson(maxLength: number) {
  return (value: unknown, ctx: z.RefinementCtx) => {
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
  };
}

/** A JSON object (or other shape) of at most `LIMITS.dataLength` characters once encoded. */
const boundedJson = <S extends z.ZodType>(shape: S) => shape.superRefine(withinJson(LIMITS.dataLength));

/** zod's record drops a `__proto__` key without a word: refuse reserved keys before it sees them. */
function noReservedKeys<S extends z.ZodType>(what: string, record: S) {
  return z.preprocess((value, ctx) => {
    if (value !== null && typeof value === 'object') {
      for (const id of RESERVED_IDS) {
        if (Object.hasOwn(value, id)) ctx.addIssue({ code: 'custom', message: `"${id}" is not a ${what}` });
      }
    }
    return value;
  }, record);
}

/** A tag's key: `[A-Za-z0-9_.-]` (no `:`, which separates key and value in `?tag=k:v`). */
export const tagKey = z
  .string()
  .min(1)
  .max(LIMITS.tagKeyLength)
  .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits and _ . - only');
export const tagValue = z.string().min(1).max(LIMITS.tagValueLength);

export const tagsSchema = noReservedKeys(
  'tag',
  z
    .record(tagKey, tagValue)
    .refine((tags) => Object.keys(tags).length <= LIMITS.tags, { message: `at most ${LIMITS.tags} tags` }),
);

export const taskSpecSchema = z.object({
  id: taskId,
  name,
  weight: z.number().positive().max(1_000_000).optional(),
  expectedMs: duration.optional(),
});

export const createSessionSchema = z
  .object({
    title: z.string().max(LIMITS.nameLength).optional(),
    tasks: z
      .union([
        noReservedKeys(
          'task id',
          z
            .record(taskId, name)
            .refine((tasks) => Object.keys(tasks).length <= LIMITS.tasks, { message: `at most ${LIMITS.tasks} tasks` }),
        ),
        z.array(taskSpecSchema).max(LIMITS.tasks),
      ])
      .optional(),
    stages: z.array(name).max(LIMITS.stages).optional(),
    ttlSeconds: z.number().int().min(1).max(LIMITS.ttlSeconds).optional(),
    owner: z.string().min(1).max(LIMITS.nameLength).optional(),
    subject: z.string().min(1).max(LIMITS.idLength).optional(),
    stallAfterMs: duration.min(1_000).optional(),
    deadAfterMs: duration.min(1_000).optional(),
    expectedMs: duration.optional(),
    viewerScope: z.enum(['view', 'view+cancel']).optional(),
    webhook: z
      .url({ protocol: /^https?$/, error: 'an http or https URL' })
      .max(LIMITS.urlLength)
      .optional(),
    tags: tagsSchema.optional(),
    expectedChildren: z.number().int().min(1).max(LIMITS.children).optional(),
    parent: z.string().min(1).max(LIMITS.idLength).optional(),
  })
  .strict()
  .refine((body) => body.parent === undefined || body.expectedChildren === undefined, {
    message: 'a session is a parent (expectedChildren) or a child (parent), not both',
    path: ['parent'],
  });

// ---------------------------------------------------------------- events ---

const level = z.enum(MESSAGE_LEVELS);
const artifact = z
  .object({
    name,
    url: z.string().max(LIMITS.urlLength).optional(),
    text: z.string().max(LIMITS.artifactTextLength).optional(),
  })
  .strict();

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
      unit: z.string().min(1).max(LIMITS.unitLength).optional(),
    })
    .strict()
    .refine((e) => e.done <= e.total, { message: 'done must not exceed total', path: ['done'] }),
  z
    .object({
      type: z.literal('message'),
      task: taskId.optional(),
      text,
      level: level.optional(),
      key: z.string().min(1).max(LIMITS.messageKeyLength).optional(),
      params: boundedJson(z.record(z.string(), z.union([z.string(), z.number()]))).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('log'),
      line: z.string().max(LIMITS.logLineLength).optional(),
      lines: z.array(z.string().max(LIMITS.logLineLength)).max(LIMITS.eventsPerBatch).optional(),
      data: boundedJson(z.record(z.string(), z.unknown())).optional(),
    })
    .strict()
    .refine((e) => (e.line === undefined) !== (e.lines === undefined), {
      message: 'give exactly one of line or lines',
      path: ['line'],
    })
    .refine((e) => e.data === undefined || e.lines === undefined, {
      message: 'data goes with one line, not lines',
      path: ['data'],
    }),
  z
    .object({
      type: z.literal('output'),
      stream: taskId,
      text: z.string().max(LIMITS.outputLength).optional(),
      data: jsonValue(LIMITS.dataLength).optional(),
    })
    .strict()
    .refine((e) => (e.text === undefined) !== (e.data === undefined), {
      message: 'give exactly one of text or data',
      path: ['text'],
    }),
  z.object({ type: z.literal('stage'), name, state: z.enum(STAGE_STATES).optional() }).strict(),
  z.object({ type: z.literal('complete'), task: taskId, message: text.optional() }).strict(),
  z
    .object({ type: z.literal('error'), task: taskId.optional(), message: errorText, detail: errorText.optional() })
    .strict(),
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
  z.object({ type: z.literal('queued'), position: z.number().int().min(1).max(1_000_000_000) }).strict(),
]);

export const eventBatchSchema = z.array(eventSchema).min(1).max(LIMITS.eventsPerBatch);

/** An `Idempotency-Key` header: printable ASCII without spaces, as IETF's draft and Stripe's keys are. */
export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(LIMITS.idempotencyKeyLength)
  .regex(/^[!-~]+$/, 'printable ASCII without spaces')
  .optional();

const tokenLifetime = z
  .number()
  .int()
  .min(10)
  .max(30 * 86_400)
  .optional();

/** The body of `POST /sessions/:id/tokens`. */
export const tokenRequestSchema = z
  .object({
    scope: z.enum(TOKEN_SCOPES),
    ttlSeconds: tokenLifetime,
  })
  .strict();

/** The body of `POST /tokens`: a subject token, for a browser to list and watch one end user's sessions. */
export const subjectTokenRequestSchema = z
  .object({
    subject: z.string().min(1).max(LIMITS.idLength),
    scope: z.enum(['view', 'view+cancel']).default('view'),
    ttlSeconds: tokenLifetime,
    /** Another owner's end user: admin keys only. */
    owner: z.string().min(1).max(LIMITS.idLength).optional(),
  })
  .strict();

// The schemas and the protocol's types are one description: these fail to compile when they drift apart.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const sameShape = <A, B>(proof: Same<A, B>): Same<A, B> => proof;
sameShape<z.infer<typeof taskSpecSchema>, TaskSpec>(true);
sameShape<z.infer<typeof artifact>, Artifact>(true);
sameShape<z.infer<typeof eventSchema>, ProgressEvent>(true);
sameShape<z.infer<typeof createSessionSchema>, CreateSessionInput>(true);

// ------------------------------------------------------------- messages ---

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

/** Parses with a schema, or throws LiveopError `invalid` naming the field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new LiveopError('invalid', describeIssues(parsed.error, prefix));
  return parsed.data;
}
