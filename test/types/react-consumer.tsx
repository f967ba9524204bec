/** Compiled by `tsc --noEmit`: what a React 19 app writes with `<live-operation>`. */

import type { LiveOperationSnapshotEvent } from '../../widget/events.ts';
import type {} from '../../widget/jsx/react.ts';
import type { LiveOperationListOpenEvent } from '../../widget/list-events.ts';

export const ok = (streamUrl: string, token: string, done: (e: LiveOperationSnapshotEvent) => void) => (
  <live-operation src={streamUrl} token={token} log-open cancelable onlive-operation-complete={done} />
);

// @ts-expect-error: not an attribute of <live-operation>
export const typo = () => <live-operation srcc="x" />;

// @ts-expect-error: log-order takes only oldest-first or newest-first
export const badValue = () => <live-operation log-order="sideways" />;

export const list = (open: (e: LiveOperationListOpenEvent) => void) => (
  <live-operation-list src="/my/sessions" status="running" refresh-interval={5000} onlive-operation-list-open={open} />
);

// @ts-expect-error: not an attribute of <live-operation-list>
export const listTypo = () => <live-operation-list sorc="x" />;
