/**
 * The events `<live-operation>` fires. Each is a `CustomEvent` subclass (so
 * `event.detail` works in every framework) with readonly typed fields; all
 * bubble and cross shadow roots (`composed`), and their dash names bind in
 * React 19 (`onlive-operation-complete`), Vue (`@live-operation-complete`),
 * Svelte, Angular and plain `addEventListener`.
 */
import type { Snapshot } from '../protocol/index.ts';

/** The connection's state, as `live-operation-connection` reports it. */
export type ConnectionState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'polling' | 'closed';

/** Names of the events whose `detail` is the session's snapshot. */
export type SnapshotEventName =
  | 'live-operation-update'
  | 'live-operation-complete'
  | 'live-operation-error'
  | 'live-operation-cancelled'
  | 'live-operation-chain';

/**
 * `live-operation-update` (a new snapshot), `-complete`, `-error`,
 * `-cancelled` (the session ended so) and `-chain` (it ended with a `next`:
 * a chain, or a restart; the element now follows it): `detail` is the snapshot.
 */
export class LiveOperationSnapshotEvent extends CustomEvent<Snapshot> {
  declare readonly type: SnapshotEventName;
  constructor(type: SnapshotEventName, snapshot: Snapshot) {
    super(type, { detail: snapshot, bubbles: true, composed: true });
  }
  /** The session's state when the event fired. */
  get snapshot(): Snapshot {
    return this.detail;
  }
}

/** `live-operation-connection`: the connection changed state; `detail` is the state. */
export class LiveOperationConnectionEvent extends CustomEvent<ConnectionState> {
  constructor(state: ConnectionState) {
    super('live-operation-connection', { detail: state, bubbles: true, composed: true });
  }
  get state(): ConnectionState {
    return this.detail;
  }
}

/**
 * `live-operation-cancel`: fired before the cancel request; `preventDefault()`
 * stops the request. `detail` is the session id.
 */
export class LiveOperationCancelEvent extends CustomEvent<string> {
  constructor(sessionId: string) {
    super('live-operation-cancel', { detail: sessionId, bubbles: true, composed: true, cancelable: true });
  }
  get sessionId(): string {
    return this.detail;
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'live-operation-update': LiveOperationSnapshotEvent;
    'live-operation-complete': LiveOperationSnapshotEvent;
    'live-operation-error': LiveOperationSnapshotEvent;
    'live-operation-cancelled': LiveOperationSnapshotEvent;
    'live-operation-chain': LiveOperationSnapshotEvent;
    'live-operation-connection': LiveOperationConnectionEvent;
    'live-operation-cancel': LiveOperationCancelEvent;
  }
}
