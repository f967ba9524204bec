/**
 * `GET /sessions` as a live stream (`Accept: application/x-ndjson` or
 * `text/event-stream`): the same query's first page, then every session as
 * it appears (or, with a status filter, comes to match), changes and ends —
 * one snapshot a line, each with its `id`, what the multiplexed stream
 * sends: a hub subscription that sessions join as they match. It never ends
 * on its own; it closes with a `reconnect` line when it holds `most`
 * sessions, or when the store may have missed a change (its subscription to
 * Redis came back), so the client reconnects and lists afresh.
 */
import type { Context } from 'hono';
import type { ListQuery } from '../core/list-query.ts';
import type { StoredSession } from '../core/model.ts';
import type { SessionStore } from '../store/session-store.ts';
import type { StreamHub, Subscription } from '../stream/hub.ts';
import type { RouteContext } from './context.ts';
import { addressKey } from './limits.ts';
import { clientAddress, requestHeader } from './node-bindings.ts';
import { formatOf } from './stream-response.ts';

/** Sessions one list stream holds before it asks its client to reconnect (and list afresh). */
const LIST_STREAM_MOST = 500;

/** Whether the request asks for the list as a stream. */
export const wantsStream = (c: Context): boolean =>
  /application\/x-ndjson|text\/event-stream/i.test(requestHeader(c, 'accept') ?? '');

export async function listStream(r: RouteContext, c: Context, listed: StoredSession[], query: ListQuery) {
  const { sessions, hub, limits, streams } = r.deps;
  await limits.take('streams', addressKey(clientAddress(c)));
  const release = limits.openStream(clientAddress(c));
  try {
    const subscription = await openListStream(listed, {
      hub,
      store: sessions.changes(),
      matches: sessions.listed(r.who(c), query),
      recheck: query.statuses !== undefined,
      most: LIST_STREAM_MOST,
    });
    return streams.respond(c, subscription, formatOf(c), release);
  } catch (error) {
    release();
    throw error;
  }
}

interface ListStreamOptions {
  hub: StreamHub;
  /** Where changes are heard of, and sessions read. */
  store: Pick<SessionStore, 'subscribe' | 'get'>;
  /** Whether a session belongs on the list (the query, and whose sessions the caller may see). */
  matches: (session: StoredSession) => boolean;
  /** Whether a session seen before may come to match (a status filter): each change is looked at, not only creations. */
  recheck: boolean;
  /** Sessions one list stream holds at most. */
  most: number;
}

/** Opens the stream with `listed` (the first page of the same query) and adds sessions as they match. */
async function openListStream(listed: StoredSession[], o: ListStreamOptions): Promise<Subscription> {
  const subscription = await o.hub.subscribe(new Map(listed.map((s) => [s.id, { logAfter: s.logSeq }])));
  subscription.live = true;
  const join = (session: StoredSession | undefined) => {
    if (session === undefined || subscription.closed || subscription.sessions.has(session.id)) return;
    if (!o.matches(session)) return;
    if (subscription.sessions.size >= o.most) return subscription.shutdown();
    // List rows carry no log: each joins from its current log cursor.
    return o.hub.join(subscription, new Map([[session.id, { logAfter: session.logSeq }]]));
  };
  const stop = o.store.subscribe(
    (change) => {
      if (change.deleted || subscription.sessions.has(change.id)) return;
      if (change.version !== 1 && !o.recheck) return;
      // This instance's own writes come with the session; another's are read (a creation, or a status filter's).
      const session = change.session ? Promise.resolve(change.session) : o.store.get(change.id);
      session.then(join).catch(() => {});
    },
    () => subscription.shutdown(),
  );
  subscription.onClosed(stop);
  return subscription;
}
