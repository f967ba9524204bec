/**
 * What `<live-operation-list>` lists, kept newest first as pages and stream
 * lines arrive: a page replaces or extends the rows, a stream snapshot
 * updates its row (never with an older version) or adds one in its place, a
 * `gone` line removes one. Pure functions of the rows, tested in Node.
 */
import type { ListedSession, SessionList, Snapshot } from '../protocol/index.ts';

/**
 * A listed session. One that only the live stream has shown so far lacks
 * what a page entry adds — its `streamUrl` and `viewerToken` — until the
 * next page brings them.
 */
export type ListRow = Omit<ListedSession, 'streamUrl' | 'viewerToken' | 'owner'> &
  Partial<Pick<ListedSession, 'streamUrl' | 'viewerToken' | 'owner' | 'operation'>>;

/** The rows and the next page's cursor (null: no more). */
export interface Rows {
  sessions: ListRow[];
  cursor: string | null;
}

/** How a page was asked for. */
export type LoadMode = 'first' | 'more' | 'refresh';

/** The server's largest page: what one refresh can list again. */
export const MAX_LIMIT = 100;

/** Newest first; ids break ties, so that the order is the same on every update. */
const newer = (a: ListRow, b: ListRow): number =>
  Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** `fresh` (a page entry), unless `had` is a later version: then `had`, with the entry's URL and token. */
function later(had: ListRow | undefined, fresh: ListRow): ListRow {
  if (!had || fresh.version >= had.version) return fresh;
  return { ...had, ...pick(fresh) };
}

const pick = ({ streamUrl, viewerToken, owner, operation }: ListRow) =>
  streamUrl === undefined ? {} : { streamUrl, viewerToken, owner, operation };

/**
 * What is listed once `page` arrived for `mode`: `first` replaces, `more`
 * appends (leaving out any already listed), `refresh` replaces too, but past
 * the server's largest page keeps the sessions one refresh cannot list again
 * (and the cursor after them). A row the stream has a later version of keeps it.
 */
export function merge(listed: ListRow[], cursor: string | null, page: SessionList, mode: LoadMode): Rows {
  const had = new Map(listed.map((s) => [s.id, s]));
  if (mode === 'more') {
    return { sessions: listed.concat(page.sessions.filter((s) => !had.has(s.id))), cursor: page.cursor };
  }
  const sessions: ListRow[] = page.sessions.map((s) => later(had.get(s.id), s));
  if (mode !== 'refresh') return { sessions, cursor: page.cursor };
  const fresh = new Set(page.sessions.map((s) => s.id));
  if (listed.length > MAX_LIMIT) {
    return { sessions: sessions.concat(listed.slice(MAX_LIMIT).filter((s) => !fresh.has(s.id))), cursor };
  }
  // Rows the stream added after this page was asked for stay until a page lists them.
  const last = sessions.at(-1);
  const kept = listed.filter(
    (s) => !s.streamUrl && !fresh.has(s.id) && (page.cursor === null || !last || newer(s, last) < 0),
  );
  return { sessions: sessions.concat(kept).sort(newer), cursor: page.cursor };
}

/**
 * The rows once the stream sent `snapshot`: its row updated (unless the row
 * is a later version), or a new row in its place by age — unless it is older
 * than the last row while more pages follow (its page will list it).
 */
export function applySnapshot({ sessions, cursor }: Rows, snapshot: Snapshot): Rows {
  const { logs: _logs, outputs: _outputs, type: _type, ...row } = snapshot;
  const at = sessions.findIndex((s) => s.id === snapshot.id);
  if (at >= 0) {
    const had = sessions[at]!;
    if (snapshot.version <= had.version) return { sessions, cursor };
    const next = sessions.slice();
    next[at] = { ...had, ...row, logs: [] } as ListRow;
    return { sessions: next, cursor };
  }
  const added = { ...row, type: 'snapshot', logs: [] } as ListRow;
  const last = sessions.at(-1);
  if (cursor !== null && last && newer(added, last) > 0) return { sessions, cursor };
  return { sessions: [...sessions, added].sort(newer), cursor };
}

/** The rows without session `id` (deleted, or expired). */
export function removeRow(rows: Rows, id: string): Rows {
  return { sessions: rows.sessions.filter((s) => s.id !== id), cursor: rows.cursor };
}
