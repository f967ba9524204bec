/**
 * Stream lines written to the socket of a chunked Node response as one
 * HTTP/1.1 chunk, framed once per generation and shared by every connection
 * it goes to. The one place Liveop writes to `res.socket`, and the one place
 * it relies on Node behaviour that Node does not document:
 *
 * 1. `res.chunkedEncoding` is true when Node chose chunked framing for the
 *    head it sent (Node sets it; the docs do not name it).
 * 2. `res.writableLength` is the bytes Node holds for the response itself
 *    plus its socket's: when the two lengths are equal, Node holds nothing of
 *    this response that is not already on the socket, so a write to the
 *    socket lands after everything the response sent.
 * 3. The chunk Node's `res.write()` sends is `size in hex, CRLF, bytes, CRLF`
 *    (RFC 9112 §7.1), and `res.end()` adds the last chunk after ours.
 *
 * Why: `res.write()` on a chunked response is four socket writes (the size as
 * a string, CRLF, the bytes, CRLF) and a `writev` per line per connection;
 * here a burst's line is one prepared buffer and one write per connection.
 * What it buys in the burst and fan-out benches is in docs/BENCHMARKS.md
 * ("The direct write"); test/server/http/socket-chunks.test.ts fails when
 * any of 1–3 changes, and then this module goes (its caller falls back to
 * `res.write()`).
 */
import { Buffer } from 'node:buffer';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HubLine } from '../stream/hub.ts';
import { framed, type StreamFormat } from './stream-framing.ts';

/**
 * The socket to write the response's next chunk to, or null when Node frames
 * this response otherwise or still holds some of its bytes (write with
 * `res.write()` then). Only after `res.flushHeaders()`: until then Node may
 * hold the head without counting it in `writableLength`.
 */
export function chunkSocket(out: ServerResponse): Socket | null {
  const socket = out.socket;
  return out.chunkedEncoding && out.headersSent && socket !== null && out.writableLength === socket.writableLength
    ? socket
    : null;
}

/**
 * Lines as one HTTP/1.1 chunk (size, CRLF, bytes, CRLF), the bytes
 * `res.write()` would send for them. A generation's is made once, like its
 * framed bytes.
 */
export function chunked(lines: HubLine[], format: StreamFormat): Buffer {
  const shared = lines.length === 1 ? lines[0]!.shared : null;
  const key = format === 'ndjson' ? 'ndjson+chunk' : 'sse+chunk';
  const cached = shared?.framed[key];
  if (cached !== undefined) return cached as Buffer;
  const body = framed(lines, format);
  const bytes = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, CRLF]);
  if (shared) shared.framed[key] = bytes;
  return bytes;
}

const CRLF = Buffer.from('\r\n');
