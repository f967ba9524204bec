/**
 * Viewers, each recording every line the server sent it, as sent: an NDJSON
 * viewer is liveop/client's watch() (which resumes with `after`/`logAfter`),
 * its fetch wrapped so the recorder sees the raw lines before the client's
 * cursor filters them; an SSE viewer reads `text/event-stream` itself and
 * resumes with `Last-Event-ID`, as EventSource does.
 */
import { createClient, type LiveopClient } from '../../client/index.ts';
import { CLIENT_RETRY } from './reporters.ts';

export interface ViewerRecord {
  name: string;
  kind: 'ndjson' | 'sse';
  sessionId: string;
  /** Every log entry received, in the order received, across reconnects. */
  logs: { seq: number; line: string }[];
  /** Every snapshot's version, in the order received. */
  versions: number[];
  connects: number;
  /** Saw the terminal snapshot and ended there. */
  stayed: boolean;
  /** Why it ended early, if it did. */
  failure: string | null;
  /** While Date.now() is below this, it reads slowly (the slow-reader fault). */
  slowUntil: number;
}

interface Line {
  type: string;
  version?: number;
  status?: string;
  logs?: { seq: number; line: string }[];
}

const TERMINAL = new Set(['complete', 'error', 'cancelled']);

function newRecord(name: string, kind: ViewerRecord['kind'], sessionId: string): ViewerRecord {
  return { name, kind, sessionId, logs: [], versions: [], connects: 0, stayed: false, failure: null, slowUntil: 0 };
}

function record(viewer: ViewerRecord, line: Line): void {
  if (line.type !== 'snapshot') return;
  viewer.versions.push(line.version ?? -1);
  for (const entry of line.logs ?? []) viewer.logs.push({ seq: entry.seq, line: entry.line });
}

/** Waits while the viewer is a slow reader: the socket's buffers fill and the server has to hold its lines. */
async function readSlowly(viewer: ViewerRecord): Promise<void> {
  while (Date.now() < viewer.slowUntil) await new Promise((resolve) => setTimeout(resolve, 250));
}

/** A fetch that hands each NDJSON line of a stream's answer to the recorder on its way to the client. */
function recordingFetch(viewer: ViewerRecord): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (!String(input).includes('/stream') || !response.body) return response;
    viewer.connects++;
    const decoder = new TextDecoder();
    let partial = '';
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        async transform(chunk, controller) {
          await readSlowly(viewer);
          partial += decoder.decode(chunk, { stream: true });
          const lines = partial.split('\n');
          partial = lines.pop() ?? '';
          for (const text of lines) if (text.trim() !== '') record(viewer, JSON.parse(text) as Line);
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/** Watches a session over NDJSON with liveop/client until its terminal snapshot (or `signal`). */
export function ndjsonViewer(baseUrl: string, name: string, id: string, token: string, signal: AbortSignal) {
  const viewer = newRecord(name, 'ndjson', id);
  const client: LiveopClient = createClient({ baseUrl, fetch: recordingFetch(viewer), retry: CLIENT_RETRY });
  const done = (async () => {
    try {
      for await (const snapshot of client.session(id, { viewerToken: token }).watch({ signal })) {
        if (TERMINAL.has(snapshot.status)) viewer.stayed = true;
      }
      if (!viewer.stayed) viewer.failure = 'stopped before the session ended';
    } catch (error) {
      viewer.failure = String(error);
    }
  })();
  return { viewer, done };
}

/** Watches a session over Server-Sent Events, resuming with Last-Event-ID, until its terminal snapshot (or `signal`). */
export function sseViewer(baseUrl: string, name: string, id: string, token: string, signal: AbortSignal) {
  const viewer = newRecord(name, 'sse', id);
  const done = (async () => {
    let lastId: string | null = null;
    let failures = 0;
    while (!signal.aborted && !viewer.stayed && viewer.failure === null) {
      const connection = AbortSignal.any([signal, AbortSignal.timeout(120_000)]);
      const silence = new AbortController();
      let watchdog = setTimeout(() => silence.abort(), 20_000);
      try {
        const headers: Record<string, string> = { Accept: 'text/event-stream', Authorization: `Bearer ${token}` };
        if (lastId !== null) headers['Last-Event-ID'] = lastId;
        const response = await fetch(`${baseUrl}/sessions/${id}/stream`, {
          headers,
          signal: AbortSignal.any([connection, silence.signal]),
        });
        viewer.connects++;
        if (response.status >= 400 && response.status < 500 && response.status !== 429) {
          viewer.failure = `HTTP ${response.status}: ${await response.text()}`;
          break;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        const decoder = new TextDecoder();
        let partial = '';
        const reader = response.body.getReader();
        for (let read = await reader.read(); !read.done; read = await reader.read()) {
          const chunk = read.value;
          clearTimeout(watchdog);
          watchdog = setTimeout(() => silence.abort(), 20_000);
          await readSlowly(viewer);
          partial += decoder.decode(chunk, { stream: true });
          const events = partial.split('\n\n');
          partial = events.pop() ?? '';
          for (const event of events) {
            let data = '';
            for (const field of event.split('\n')) {
              if (field.startsWith('id:')) lastId = field.slice(3).trim();
              else if (field.startsWith('data:')) data += field.slice(5).trimStart();
            }
            if (data === '') continue;
            failures = 0;
            const line = JSON.parse(data) as Line;
            record(viewer, line);
            if (line.type === 'snapshot' && TERMINAL.has(line.status ?? '')) viewer.stayed = true;
            if (line.type === 'gone' || line.type === 'error') viewer.failure = `${line.type} line: ${data}`;
          }
          if (viewer.stayed || viewer.failure !== null) break;
        }
        await reader.cancel().catch(() => {});
      } catch {
        // Cut, reset or silent: reconnect below.
      } finally {
        clearTimeout(watchdog);
      }
      if (viewer.stayed || viewer.failure !== null || signal.aborted) break;
      if (++failures > CLIENT_RETRY.attempts) viewer.failure = `${failures} reconnects in a row brought nothing`;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2_000, 100 * 2 ** failures)));
    }
    if (!viewer.stayed && viewer.failure === null) viewer.failure = 'stopped before the session ended';
  })();
  return { viewer, done };
}
