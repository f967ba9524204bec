/**
 * The bytes of stream lines: NDJSON or Server-Sent Events frames. A
 * generation's bytes are made once and shared by every connection.
 */
import { Buffer } from 'node:buffer';
import type { Context } from 'hono';
import type { HubLine } from '../stream/hub.ts';
import { requestHeader } from './node-bindings.ts';

export type StreamFormat = 'ndjson' | 'sse';

/** The format a request asks for: SSE with `Accept: text/event-stream`, NDJSON otherwise. */
export const formatOf = (c: Context): StreamFormat =>
  /text\/event-stream/i.test(requestHeader(c, 'accept') ?? '') ? 'sse' : 'ndjson';

/**
 * A line's bytes: NDJSON is the JSON and `\n`; SSE frames every line as an
 * event's `data:` (so EventSource hears `reconnect`, `gone` and `error` too),
 * with `id:` = version on snapshots, for `Last-Event-ID`. A generation's
 * bytes are made once and shared by every connection it goes to.
 */
export function frame(item: HubLine, format: StreamFormat): Buffer {
  const cached = item.shared?.framed[format];
  if (cached !== undefined) return cached as Buffer;
  const { line, json } = item;
  const bytes = Buffer.from(
    format === 'ndjson' ? `${json}\n` : `${line.type === 'snapshot' ? `id: ${line.version}\n` : ''}data: ${json}\n\n`,
  );
  if (item.shared) item.shared.framed[format] = bytes;
  return bytes;
}

export function framed(lines: HubLine[], format: StreamFormat): Buffer {
  return lines.length === 1 ? frame(lines[0]!, format) : Buffer.concat(lines.map((line) => frame(line, format)));
}
