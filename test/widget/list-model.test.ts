/**
 * `<live-operation-list>`'s parts that need no browser, in Node: how rows
 * merge pages and stream lines (list-rows.ts), the query its attributes make
 * (list-url.ts), which actions a credential and a status offer and where
 * they go (list-actions.ts), and its live stream's reconnects and fallbacks
 * (list-stream.ts) against a scripted `fetch`. The browser tests
 * (list.test.ts) check the same against the real server.
 */
import { describe, expect, it, vi } from 'vitest';
import type { ListedSession, Snapshot } from '../../protocol/index.ts';
import { actionUrl, allowedActions, parseActions, rowActions } from '../../widget/list-actions.ts';
import { applySnapshot, type ListRow, merge, type Rows, removeRow } from '../../widget/list-rows.ts';
import { ListStream, type ListStreamCallbacks } from '../../widget/list-stream.ts';
import { listUrl, parseTags } from '../../widget/list-url.ts';
import { snapshot as fed } from './browser.ts';

const at = (minute: number) => new Date(Date.UTC(2026, 11, 3, 12, minute)).toISOString();
const snapshot = (id: string, minute: number, fields: Partial<Snapshot> = {}): Snapshot =>
  fed({ id, title: id, createdAt: at(minute), ...fields });
const entry = (id: string, minute: number, fields: Partial<Snapshot> = {}): ListedSession => ({
  ...snapshot(id, minute, fields),
  owner: null,
  streamUrl: `https://x.example/sessions/${id}/stream`,
  viewerToken: `token-${id}`,
});
const ids = (rows: { sessions: ListRow[] }) => rows.sessions.map((s) => s.id);

describe('list rows', () => {
  it('adds a session the stream shows in its place by age, and updates a row only with a later version', () => {
    let rows: Rows = { sessions: [entry('c', 3), entry('a', 1)], cursor: null };
    rows = applySnapshot(rows, snapshot('b', 2));
    rows = applySnapshot(rows, snapshot('d', 4));
    expect(ids(rows)).toEqual(['d', 'c', 'b', 'a']);
    expect(rows.sessions[2]!.streamUrl).toBeUndefined();
    rows = applySnapshot(rows, snapshot('c', 3, { version: 3, percent: 60 }));
    rows = applySnapshot(rows, snapshot('c', 3, { version: 2, percent: 40 }));
    expect(rows.sessions[1]).toMatchObject({ percent: 60, version: 3, streamUrl: entry('c', 3).streamUrl });
    expect(ids(removeRow(rows, 'b'))).toEqual(['d', 'c', 'a']);
  });

  it('leaves a session older than the last row to its page while more pages follow', () => {
    const rows = { sessions: [entry('c', 3)] as ListRow[], cursor: 'next' };
    expect(ids(applySnapshot(rows, snapshot('a', 1)))).toEqual(['c']);
    expect(ids(applySnapshot({ ...rows, cursor: null }, snapshot('a', 1)))).toEqual(['c', 'a']);
  });

  it('a refresh brings the entries of rows the stream showed first, keeping a later version and rows added since', () => {
    const listed: ListRow[] = [snapshot('d', 4), { ...entry('c', 3), version: 5, percent: 80 }, snapshot('b', 2)];
    const page = { sessions: [entry('c', 3, { version: 4 }), entry('b', 2)], cursor: null };
    const { sessions } = merge(listed, null, page, 'refresh');
    expect(sessions.map((s) => [s.id, s.version, s.viewerToken])).toEqual([
      ['d', 1, undefined],
      ['c', 5, 'token-c'],
      ['b', 1, 'token-b'],
    ]);
  });
});

describe('list query', () => {
  it('writes the filters as GET /sessions takes them, keeping a backend URL’s own parameters', () => {
    const url = listUrl(
      '/admin/list?team=a',
      'https://shop.example/page',
      {
        parent: 'p1',
        topLevel: false,
        tags: parseTags('batch:b1  customer:42 broken'),
        operation: 'import',
        status: 'running, retrying',
        query: ' invoices ',
        since: '2026-12-01T00:00:00Z',
        until: '',
      },
      { limit: 20, cursor: 'c1' },
    );
    expect(url).toBe(
      'https://shop.example/admin/list?team=a&parent=p1&tag=batch%3Ab1&tag=customer%3A42&operation=import&status=running%2Cretrying&since=2026-12-01T00%3A00%3A00Z&q=invoices&limit=20&cursor=c1',
    );
  });

  it('asks for top-level sessions only with top-level', () => {
    const filters = {
      parent: '',
      topLevel: true,
      tags: {},
      operation: '',
      status: '',
      query: '',
      since: '',
      until: '',
    };
    expect(listUrl('/sessions', 'https://x.example/', filters, { limit: 20 })).toBe(
      'https://x.example/sessions?topLevel=true&limit=20',
    );
  });
});

describe('list actions', () => {
  const token = (scope: string) => `${btoa(JSON.stringify({ sub: 'u', own: 'o', scope }))}.sig`;

  it('offers what the credential allows: all with no token, cancel only to a subject token that may cancel', () => {
    const all = parseActions('delete cancel, restart bogus');
    expect(all).toEqual(['cancel', 'restart', 'delete']);
    expect(allowedActions(all, '')).toEqual(all);
    expect(allowedActions(all, token('view+cancel'))).toEqual(['cancel']);
    expect(allowedActions(all, token('view'))).toEqual([]);
    expect(allowedActions(all, 'not a token')).toEqual([]);
  });

  it("offers cancel while a session may run, delete once it ended, restart after an operation's failure or cancel", () => {
    const all = parseActions('cancel restart delete');
    const offered = (fields: Partial<Snapshot>, operation?: string) =>
      rowActions(all, { ...snapshot('s', 1, fields), ...(operation ? { operation } : {}) });
    expect(offered({ status: 'running' })).toEqual(['cancel']);
    expect(offered({ status: 'pending', cancelRequested: true })).toEqual([]);
    expect(offered({ status: 'error' }, 'import')).toEqual(['restart', 'delete']);
    expect(offered({ status: 'cancelled' }, 'import')).toEqual(['restart', 'delete']);
    expect(offered({ status: 'complete' }, 'import')).toEqual(['delete']);
    // Not started as an operation: the server cannot run it again.
    expect(offered({ status: 'error' })).toEqual(['delete']);
  });

  it('sends each action beside the list URL', () => {
    const list = 'https://x.example/admin/sessions/?q=a';
    expect(actionUrl(list, 'a/b', 'cancel')).toBe('https://x.example/admin/sessions/a%2Fb/cancel');
    expect(actionUrl(list, 'id', 'restart')).toBe('https://x.example/admin/sessions/id/restart');
    expect(actionUrl(list, 'id', 'delete')).toBe('https://x.example/admin/sessions/id');
  });
});

describe('list stream', () => {
  /** A `fetch` that answers each call with the next scripted answer; a stream stays open until aborted. */
  function scripted(answers: ((signal: AbortSignal) => Response)[]) {
    const calls: RequestInit[] = [];
    const fetcher = vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => {
      calls.push(init ?? {});
      const answer = answers.shift();
      if (!answer) throw new Error('no more answers');
      return answer(init!.signal!);
    });
    return { fetcher, calls };
  }
  const ndjson = (lines: unknown[], end: boolean) => (signal: AbortSignal) =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const line of lines) controller.enqueue(new TextEncoder().encode(`${JSON.stringify(line)}\n`));
          if (end) controller.close();
          else signal.addEventListener('abort', () => controller.error(new Error('aborted')));
        },
      }),
      { headers: { 'content-type': 'application/x-ndjson' } },
    );
  const recorder = () => {
    const seen: string[] = [];
    const callbacks: ListStreamCallbacks = {
      snapshot: (s) => seen.push(`snapshot ${s.id}`),
      gone: (id) => seen.push(`gone ${id}`),
      resumed: () => seen.push('resumed'),
      unavailable: (reason) => seen.push(`unavailable: ${reason}`),
    };
    return { seen, callbacks };
  };

  it('reconnects at once on a reconnect line, and after a 503 with the backoff, with its Accept and credential', async () => {
    const { fetcher, calls } = scripted([
      ndjson([snapshot('a', 1), { type: 'heartbeat' }, { type: 'reconnect' }], false),
      () => new Response('{}', { status: 503, headers: { 'retry-after': '0' } }),
      ndjson([snapshot('b', 2), { type: 'gone', id: 'a' }], false),
    ]);
    const { seen, callbacks } = recorder();
    let token = 't1';
    const stream = new ListStream(
      'https://x.example/sessions?q=a',
      fetcher,
      () => ({ Authorization: `Bearer ${token}` }),
      callbacks,
    );
    token = 't2'; // renewed while the first connection is open: the next ones carry it
    await expect.poll(() => seen, { timeout: 5_000 }).toEqual(['snapshot a', 'resumed', 'snapshot b', 'gone a']);
    expect(calls.map((init) => (init.headers as Record<string, string>).Authorization)).toEqual([
      'Bearer t1',
      'Bearer t2',
      'Bearer t2',
    ]);
    expect(calls.every((init) => (init.headers as Record<string, string>).Accept === 'application/x-ndjson')).toBe(
      true,
    );
    stream.close();
    expect(calls[2]!.signal!.aborted).toBe(true);
    expect(stream.closed).toBe(true);
  });

  it('gives up on a URL that is refused or answers JSON, so the list refreshes by itself', async () => {
    for (const answer of [
      () => new Response('{"sessions":[],"cursor":null}', { headers: { 'content-type': 'application/json' } }),
      () => new Response('{}', { status: 403 }),
    ]) {
      const { fetcher } = scripted([answer]);
      const { seen, callbacks } = recorder();
      const stream = new ListStream('https://x.example/sessions', fetcher, () => ({}), callbacks);
      await expect.poll(() => seen).toHaveLength(1);
      expect(seen[0]).toMatch(/^unavailable: /);
      expect(stream.closed).toBe(true);
      expect(fetcher).toHaveBeenCalledTimes(1);
    }
  });
});
