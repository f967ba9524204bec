/**
 * The query string of `GET /sessions` and of its live stream
 * (`GET /sessions/stream`): one schema, so a page and a stream of the same
 * URL ask for the same sessions (core/list-query.ts decides which).
 */
import { z } from 'zod';
import { LIMITS } from '../../protocol/index.ts';
import { LISTED_STATUSES, type ListedStatus, type ListQuery } from '../core/list-query.ts';
import { tagKey, tagValue } from '../core/schemas.ts';

const statuses = LISTED_STATUSES.join('|');
const time = z
  .string()
  .max(40)
  .refine((value) => Number.isFinite(Date.parse(value)), 'an ISO 8601 time, e.g. 2026-12-01T00:00:00Z')
  .transform((value) => Date.parse(value));
const tag = z
  .string()
  .max(LIMITS.tagKeyLength + 1 + LIMITS.tagValueLength)
  .transform((value, ctx) => {
    const colon = value.indexOf(':');
    const key = tagKey.safeParse(value.slice(0, colon));
    const wanted = tagValue.safeParse(value.slice(colon + 1));
    if (colon < 1 || !key.success || !wanted.success) {
      ctx.addIssue({ code: 'custom', message: 'key:value, the key [A-Za-z0-9_.-]' });
      return z.NEVER;
    }
    return { key: key.data, value: wanted.data };
  });

/** What a list asks for, as the query string says it (`tag` may repeat). */
export const listFilterSchema = z.object({
  /** Only this parent's children. */
  parent: z.string().min(1).max(LIMITS.idLength).optional(),
  /** `true`: only sessions with no parent (with `parent` too, none). */
  topLevel: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => (value === undefined ? undefined : value === 'true')),
  /** Only sessions with this tag (`key:value`); repeat it for several, all of which must match. */
  tag: z
    .union([tag, z.array(tag).max(LIMITS.tags)])
    .optional()
    .transform((tags) => (tags === undefined ? undefined : Array.isArray(tags) ? tags : [tags])),
  /** Only sessions of this registered operation. */
  operation: z.string().min(1).max(LIMITS.nameLength).optional(),
  /** Only sessions in these statuses (comma-separated): `running,pending`; `retrying` is running again after a retry. */
  status: z
    .string()
    .max(100)
    .regex(new RegExp(`^(${statuses})(,(${statuses}))*$`), 'statuses, comma-separated')
    .optional()
    .transform((value) => value?.split(',') as ListedStatus[] | undefined),
  /** Only sessions created at or after this time (ISO 8601). */
  since: time.optional(),
  /** Only sessions created before this time (ISO 8601). */
  until: time.optional(),
  /** Only sessions whose title contains this (any case). */
  q: z.string().max(200).optional(),
  /** Only the sessions created for this end user (`subject` on create). */
  subject: z.string().min(1).max(LIMITS.idLength).optional(),
});

export const listQuerySchema = listFilterSchema.extend({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});

/** The parsed query string as the service takes it. */
export function toListQuery({ status, tag: tags, ...rest }: z.output<typeof listFilterSchema>): ListQuery {
  return { ...rest, ...(status ? { statuses: status } : {}), ...(tags ? { tags } : {}) };
}
