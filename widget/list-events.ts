/**
 * The event `<live-operation-list>` fires. Like `<live-operation>`'s, it is a
 * `CustomEvent` subclass with readonly typed fields that bubbles and crosses
 * shadow roots (`composed`). The `<live-operation>` a row opens fires its own
 * events (`live-operation-update`, `-complete`…), which bubble out of the list.
 */
import type { ListedSession } from '../protocol/index.ts';
import type { ListAction } from './list-actions.ts';
import type { ListRow } from './list-rows.ts';

/**
 * `live-operation-list-open`: a row is about to open its session's live
 * progress; `detail` is the session id. Cancelable: `preventDefault()` keeps
 * the row closed (to show the session elsewhere, say on its own page).
 */
export class LiveOperationListOpenEvent extends CustomEvent<string> {
  /** The session's entry as listed: its snapshot, `streamUrl` and `viewerToken`. */
  readonly session: ListedSession;
  constructor(session: ListedSession) {
    super('live-operation-list-open', { detail: session.id, bubbles: true, composed: true, cancelable: true });
    this.session = session;
  }
  get sessionId(): string {
    return this.detail;
  }
}

/**
 * `live-operation-list-action`: a row's action button was pressed (`action`:
 * `cancel`, `restart` or `delete`); `detail` is the session id. Cancelable:
 * `preventDefault()` sends nothing (to ask the user first, say, then call
 * the list's `act()`).
 */
export class LiveOperationListActionEvent extends CustomEvent<string> {
  /** The session's row as listed. */
  readonly session: ListRow;
  readonly action: ListAction;
  constructor(session: ListRow, action: ListAction) {
    super('live-operation-list-action', { detail: session.id, bubbles: true, composed: true, cancelable: true });
    this.session = session;
    this.action = action;
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'live-operation-list-open': LiveOperationListOpenEvent;
    'live-operation-list-action': LiveOperationListActionEvent;
  }
}
