/**
 * Reads a live NDJSON (or SSE) stream the way a client would, for tests.
 */

import type { Snapshot, StreamLine } from '../../server/protocol';
import { LineSplitter } from '../../server/protocol';

export interface StreamReader {
  response: Response;
  /** Every line received so far. */
  lines: StreamLine[];
  /** Every byte received so far, as text (to check framing). */
  raw(): string;
  snapshots(): Snapshot[];
  /** Resolves with the first line (already received or not) that matches. */
  waitFor(predicate: (line: StreamLine) => boolean, timeoutMs?: number): Promise<StreamLine>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

export async function openStream(url: string, init: RequestInit = {}): Promise<StreamReader> {
  const controller = new AbortController();
  const response = await fetch(url, { ...init, signal: controller.signal });
  const lines: StreamLine[] = [];
  const waiters = new Set<() => void>();
  const splitter = new LineSplitter();
  const decoder = new TextDecoder();
  let raw = '';
  const ended = (async () => {
    if (!response.body) return;
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const chunk = decoder.decode(value, { stream: true });
        raw += chunk;
        for (const text of splitter.push(chunk)) {
          if (text.startsWith('data: ')) lines.push(JSON.parse(text.slice(6)));
          else if (!text.startsWith('id: ')) lines.push(JSON.parse(text));
        }
        for (const wake of waiters) wake();
      }
    } catch {
      // aborted by close()
    } finally {
      for (const wake of waiters) wake();
    }
  })();
  let finished = false;
  void ended.then(() => {
    finished = true;
  });
  return {
    response,
    lines,
    raw: () => raw,
    snapshots: () => lines.filter((l): l is Snapshot => l.type === 'snapshot'),
    ended,
    close: () => controller.abort(),
    waitFor(predicate, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(predicate);
          if (found) {
            cleanup();
            resolve(found);
          } else if (finished) {
            cleanup();
            reject(new Error(`stream ended without the line; got ${JSON.stringify(lines).slice(0, 500)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no such line within ${timeoutMs} ms; got ${JSON.stringify(lines).slice(-500)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** POSTs JSON and returns status and parsed body. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
