/**
 * `<live-operation>`'s attributes and events as framework typings see them
 * (widget/jsx/react.ts, widget/jsx/vue.ts): one list, taken from the class.
 */
import type { LiveOperationCancelEvent, LiveOperationConnectionEvent, LiveOperationSnapshotEvent } from '../events.ts';
import type { LiveOperationListActionEvent, LiveOperationListOpenEvent } from '../list-events.ts';
import type { LiveOperation } from '../live-operation.ts';

/** Its attributes (strings, as in HTML; `strings` is JSON). */
export interface LiveOperationAttributes {
  src?: string;
  token?: string;
  'session-id'?: string;
  'base-url'?: string;
  cancelable?: boolean;
  notify?: boolean;
  'log-order'?: LiveOperation['logOrder'];
  'log-mode'?: LiveOperation['logMode'];
  'log-open'?: boolean;
  'max-log-lines'?: number;
  strings?: string;
  theme?: 'light' | 'dark';
}

/** Its events, by name. */
export interface LiveOperationEvents {
  'live-operation-update': LiveOperationSnapshotEvent;
  'live-operation-complete': LiveOperationSnapshotEvent;
  'live-operation-error': LiveOperationSnapshotEvent;
  'live-operation-cancelled': LiveOperationSnapshotEvent;
  'live-operation-chain': LiveOperationSnapshotEvent;
  'live-operation-connection': LiveOperationConnectionEvent;
  'live-operation-cancel': LiveOperationCancelEvent;
}

/** `<live-operation-list>`'s attributes (strings, as in HTML; `strings` is JSON). */
export interface LiveOperationListAttributes {
  src?: string;
  'base-url'?: string;
  token?: string;
  parent?: string;
  /** Only sessions with no parent. */
  'top-level'?: boolean;
  /** `key:value` pairs separated by spaces: `batch:b1 customer:42`. */
  tags?: string;
  operation?: string;
  status?: string;
  query?: string;
  since?: string;
  until?: string;
  limit?: number;
  /** Space-separated: `cancel restart delete`. */
  actions?: string;
  'no-filters'?: boolean;
  'refresh-interval'?: number;
  strings?: string;
  theme?: 'light' | 'dark';
}

/** `<live-operation-list>`'s own events (the `<live-operation>` a row opens fires its own, which bubble out). */
export interface LiveOperationListEvents {
  'live-operation-list-open': LiveOperationListOpenEvent;
  'live-operation-list-action': LiveOperationListActionEvent;
}
