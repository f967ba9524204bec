/**
 * `<live-operation>`'s attributes and events as framework typings see them
 * (widget/jsx/react.ts, widget/jsx/vue.ts): one list, taken from the class.
 */
import type { LiveOperationCancelEvent, LiveOperationConnectionEvent, LiveOperationSnapshotEvent } from '../events.ts';
import type { LiveOperationListOpenEvent } from '../list-events.ts';
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
  status?: string;
  query?: string;
  limit?: number;
  'refresh-interval'?: number;
  strings?: string;
  theme?: 'light' | 'dark';
}

/** `<live-operation-list>`'s own event (the `<live-operation>` a row opens fires its own, which bubble out). */
export interface LiveOperationListEvents {
  'live-operation-list-open': LiveOperationListOpenEvent;
}
