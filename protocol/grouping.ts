/**
 * Many operations as one: tags to find sessions by, parents that roll up
 * their children, and the limits on both. Part of the wire protocol
 * (wire.ts takes these into its create body, snapshot and LIMITS).
 */

/** Bounds on tags and children (in `LIMITS`; docs/protocol.md states them). */
export const GROUPING_LIMITS = {
  /** Tags a session has (`tags` on create). */
  tags: 20,
  /** A tag's key: `[A-Za-z0-9_.-]`. */
  tagKeyLength: 64,
  /** A tag's value. */
  tagValueLength: 200,
  /** Children a parent expects (`expectedChildren`). */
  children: 100_000,
} as const;

/** What `POST /sessions` takes to tag a session and make it a parent or a child. */
export interface GroupingInput {
  /**
   * Labels to find it by (`GET /sessions?tag=batch:b1`): up to
   * `LIMITS.tags`, keys `[A-Za-z0-9_.-]`. Shown in its snapshots and lists.
   * @example { batch: 'b1', customer: 'acme' }
   */
  tags?: Record<string, string>;
  /**
   * Makes it a parent of this many children (sessions created with
   * `parent`): its bar and status roll theirs up, and cancelling it cancels
   * them.
   */
  expectedChildren?: number;
  /** Makes it a child of this parent (same owner; the parent's reporter token may create it). */
  parent?: string;
}

/** A parent's children on its snapshot: how many it expects, has, and in each status. */
export interface ChildCounts {
  expected: number;
  total: number;
  pending: number;
  running: number;
  complete: number;
  error: number;
  cancelled: number;
}

/** What a snapshot says of its tags and family. */
export interface GroupingSnapshot {
  /** Its tags, as created. */
  tags?: Record<string, string>;
  /** A child's parent. */
  parent?: string;
  /** A parent's children, counted by status: its percent and status roll theirs up. */
  children?: ChildCounts;
}

/** What `GET /sessions` (and its live stream) asks for; every filter optional, all of them combined. */
export interface SessionListQuery {
  /** Only this parent's children. */
  parent?: string;
  /** Only sessions with no parent: a batch shows as its parent, its children in the parent's own list. */
  topLevel?: boolean;
  /** Only sessions with these tags, each `{key: value}` (all must match). */
  tags?: Record<string, string>;
  /** Only sessions of this registered operation. */
  operation?: string;
  /** Only sessions in these statuses; `retrying` is running again after a retry. */
  status?: readonly ('pending' | 'running' | 'retrying' | 'complete' | 'error' | 'cancelled')[];
  /** Only sessions created at or after / before these times. */
  since?: Date | string;
  until?: Date | string;
  /** Only sessions whose title contains this (any case). */
  q?: string;
  /** Only the sessions of this end user. */
  subject?: string;
  /** Sessions a page (at most 100). @default 20 */
  limit?: number;
  /** The previous page's `cursor`. */
  cursor?: string;
}

/**
 * The URL of a list query: `base` is where the API is (`/sessions` is added).
 * @example
 * sessionListUrl('https://x.example', { parent: 'abc', tags: { batch: 'b1' } })
 * // 'https://x.example/sessions?parent=abc&tag=batch%3Ab1'
 */
export function sessionListUrl(base: string, query: SessionListQuery = {}): string {
  const params = new URLSearchParams();
  const time = (value: Date | string) => (typeof value === 'string' ? value : value.toISOString());
  if (query.parent !== undefined) params.append('parent', query.parent);
  if (query.topLevel) params.append('topLevel', 'true');
  for (const [key, value] of Object.entries(query.tags ?? {})) params.append('tag', `${key}:${value}`);
  if (query.operation !== undefined) params.append('operation', query.operation);
  if (query.status !== undefined && query.status.length > 0) params.append('status', query.status.join(','));
  if (query.since !== undefined) params.append('since', time(query.since));
  if (query.until !== undefined) params.append('until', time(query.until));
  if (query.q !== undefined && query.q !== '') params.append('q', query.q);
  if (query.subject !== undefined) params.append('subject', query.subject);
  if (query.limit !== undefined) params.append('limit', String(query.limit));
  if (query.cursor !== undefined) params.append('cursor', query.cursor);
  const search = params.toString();
  return `${base.replace(/\/$/, '')}/sessions${search ? `?${search}` : ''}`;
}
