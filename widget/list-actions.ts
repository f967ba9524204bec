/**
 * What a `<live-operation-list>` row may do to its session — cancel, restart,
 * delete — and doing it: which actions the list's credential allows (an API
 * key behind `src`, open mode, or a subject token's scope), which of those a
 * row offers in its status, and the request for each, sent next to the list
 * URL (`POST …/ID/cancel`, `POST …/ID/restart`, `DELETE …/ID`).
 */
import { type ErrorBody, isTerminal, scopeAllows, scopeOf } from '../protocol/index.ts';
import type { ListRow } from './list-rows.ts';
import type { Fetch } from './shared-connection.ts';

export const LIST_ACTIONS = ['cancel', 'restart', 'delete'] as const;
export type ListAction = (typeof LIST_ACTIONS)[number];

/** `actions` as written in the attribute (space- or comma-separated), the known ones in their order. */
export function parseActions(value: string | null | undefined): ListAction[] {
  const named = new Set(`${value ?? ''}`.split(/[\s,]+/));
  return LIST_ACTIONS.filter((action) => named.has(action));
}

/**
 * The actions `wanted` that the list's credential allows: with no token (an
 * API key your backend adds, or open mode) all of them; with a subject token
 * only `cancel`, when its scope has it — restart and delete need the owner's
 * key. The server decides in the end; this only hides what it would refuse.
 */
export function allowedActions(wanted: readonly ListAction[], token: string): ListAction[] {
  if (!token) return [...wanted];
  const scope = scopeOf(token);
  return wanted.filter((action) => action === 'cancel' && scope !== null && scopeAllows(scope, 'cancel'));
}

/**
 * The actions a row offers now: cancel while its session may still run (and
 * no cancel was asked for yet); once it ended, delete, and restart after a
 * failure or a cancel when it was started as an operation (the server can
 * run only those again).
 */
export function rowActions(allowed: readonly ListAction[], row: ListRow): ListAction[] {
  const ended = isTerminal(row.status);
  const again = row.operation !== undefined && row.status !== 'complete';
  return allowed.filter((action) =>
    action === 'cancel' ? !ended && !row.cancelRequested : ended && (action === 'delete' || again),
  );
}

/** Where an action on session `id` goes: beside the list URL, as `/sessions/:id` is beside `/sessions`. */
export function actionUrl(listUrl: string, id: string, action: ListAction): string {
  const url = new URL(listUrl);
  url.search = '';
  url.pathname = `${url.pathname.replace(/\/$/, '')}/${encodeURIComponent(id)}${action === 'delete' ? '' : `/${action}`}`;
  return url.href;
}

/** Sends `action` for session `id`; throws with the server's message (or the status) when it was refused. */
export async function runAction(
  fetcher: Fetch,
  listUrl: string,
  id: string,
  action: ListAction,
  headers: Record<string, string>,
): Promise<void> {
  const response = await fetcher(actionUrl(listUrl, id, action), {
    method: action === 'delete' ? 'DELETE' : 'POST',
    headers,
  });
  if (response.ok) return;
  const body = (await response.json().catch(() => null)) as ErrorBody | null;
  throw new Error(body?.error?.message || `HTTP ${response.status}`);
}
