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
