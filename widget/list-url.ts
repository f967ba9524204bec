/**
 * `<live-operation-list>`'s query: its filter attributes read (`tags` as
 * `key:value` pairs, `status` as a list) and written into the list URL as
 * `GET /sessions` takes them — the protocol's `sessionListUrl` writes the
 * parameters, so the element asks exactly what the client would.
 */
import { type SessionListQuery, sessionListUrl } from '../protocol/index.ts';

/** The element's filters, as its attributes hold them. */
export interface ListFilters {
  parent: string;
  /** Only sessions with no parent. */
  topLevel: boolean;
  tags: Record<string, string>;
  operation: string;
  /** One status or several, comma- or space-separated (`running,retrying`). */
  status: string;
  /** In the title (`?q=`). */
  query: string;
  since: string;
  until: string;
}

/**
 * The `tags` attribute as an object: `key:value` pairs separated by spaces
 * (`batch:b1 customer:42`); a value is everything after its key's first
 * colon, so a value with spaces is set through the property instead.
 */
export function parseTags(value: string | null): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const pair of `${value ?? ''}`.split(/\s+/)) {
    const colon = pair.indexOf(':');
    if (colon > 0) tags[pair.slice(0, colon)] = pair.slice(colon + 1);
  }
  return tags;
}

/** The statuses of a `status` value, in order, without blanks. */
export const statusList = (status: string): string[] => status.split(/[\s,]+/).filter(Boolean);

/**
 * The list URL `base` (resolved against `pageUrl`) with the filters and
 * `params` (limit, cursor) in its query; parameters `base` had of its own
 * (a backend's) are kept. Throws for a `base` that is not a URL.
 */
export function listUrl(
  base: string,
  pageUrl: string,
  filters: ListFilters,
  params: { limit: number; cursor?: string },
): string {
  const url = new URL(base, pageUrl);
  const status = statusList(filters.status);
  const query: SessionListQuery = {
    ...(filters.parent ? { parent: filters.parent } : {}),
    ...(filters.topLevel ? { topLevel: true } : {}),
    ...(Object.keys(filters.tags ?? {}).length ? { tags: filters.tags } : {}),
    ...(filters.operation ? { operation: filters.operation } : {}),
    ...(status.length ? { status: status as SessionListQuery['status'] } : {}),
    ...(filters.since ? { since: filters.since } : {}),
    ...(filters.until ? { until: filters.until } : {}),
    q: filters.query.trim(),
    ...params,
  };
  const added = new URLSearchParams(sessionListUrl('', query).split('?')[1]);
  for (const name of new Set(added.keys())) url.searchParams.delete(name);
  for (const [name, value] of added) url.searchParams.append(name, value);
  return url.href;
}
