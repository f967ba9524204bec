/**
 * Reads a live NDJSON (or SSE) stream the way a client would, for tests.
 */

import type { Snapshot, StreamLine } from '../../protocol/index.ts';
import { readNdjson } from '../../protocol/index.ts';

export interface StreamReader {
  response: Response;
  /** Every line received so far. */
  lines: StreamLine[];
  /** Every byte received so far, as text (to check framing). */
  raw(): string;
  snapshots(): Snapshot[];
  /** Resolves with the first line (already received or not) that matches. */
  waitFor(predicate: (line: StreamLine) => boolean, timeoutMs?: number): Promise<StreamLine>;
  /** Resolves when the server ends the stream (or close() aborts it). */
  ended: Promise<void>;
  /** True once it has ended. */
  isEnded(): boolean;
  close(): void;
}

/** Opens a stream (NDJSON, or SSE with `Accept: text/event-stream`) and reads it the way a client would. */
export async function openStream(url: string, init: RequestInit = {}): Promise<StreamReader> {
  const controller = new AbortController();
  const response = await fetch(url, { ...init, signal: controller.signal });
  const lines: StreamLine[] = [];
  const waiters = new Set<() => void>();
  let raw = '';
  let finished = false;
  const body = response.body;
  /** The body, its text kept as it passes. */
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const decoder = new TextDecoder();
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      raw += decoder.decode(chunk, { stream: true });
      yield chunk;
    }
  }
  const ended = (async () => {
    if (!body) return;
    try {
      for await (const line of readNdjson<StreamLine>(chunks())) {
        lines.push(line);
        for (const wake of waiters) wake();
      }
    } catch {
      // aborted by close()
    } finally {
      finished = true;
      for (const wake of waiters) wake();
    }
  })();
  return {
    response,
    lines,
    raw: () => raw,
    snapshots: () => lines.filter((l): l is Snapshot => l.type === 'snapshot'),
    ended,
    isEnded: () => finished,
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
