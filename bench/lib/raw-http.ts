/**
 * A lean HTTP/1.1 client on `node:net` for the load side, so the load
 * generator costs as little CPU as possible on a box it shares with the
 * server: keep-alive request connections for ingest, and stream readers that
 * de-chunk and split NDJSON lines without decoding them to strings.
 */
import { connect, type Socket } from 'node:net';

const CRLF2 = Buffer.from('\r\n\r\n');
const NEWLINE = 0x0a;

export interface Target {
  host: string;
  port: number;
}

export function targetOf(url: string): Target {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

/**
 * A request as bytes, ready to write many times. The body goes with a
 * `Content-Length`, or `chunked` as a node:http client sends it without one
 * (`req.write(body); req.end()`: one chunk, then the last).
 */
export function requestBytes(
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
  framing: 'length' | 'chunked' = 'length',
): Buffer {
  const u = new URL(url);
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  let head = `${method} ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  if (!payload) return Buffer.from(`${head}\r\n`);
  if (framing === 'length')
    return Buffer.concat([Buffer.from(`${head}Content-Length: ${payload.length}\r\n\r\n`), payload]);
  const chunk = `${head}Transfer-Encoding: chunked\r\n\r\n${payload.length.toString(16)}\r\n`;
  return Buffer.concat([Buffer.from(chunk), payload, Buffer.from('\r\n0\r\n\r\n')]);
}

interface Head {
  status: number;
  chunked: boolean;
  length: number | null;
  bodyStart: number;
}

function parseHead(buf: Buffer): Head | null {
  const end = buf.indexOf(CRLF2);
  if (end < 0) return null;
  const text = buf.toString('latin1', 0, end);
  const status = Number(text.slice(9, 12));
  const lower = text.toLowerCase();
  const lengthAt = lower.indexOf('\r\ncontent-length:');
  const length =
    lengthAt < 0 ? null : Number.parseInt(lower.slice(lengthAt + 17, lower.indexOf('\r\n', lengthAt + 2)), 10);
  return { status, chunked: /\r\ntransfer-encoding:\s*chunked/.test(lower), length, bodyStart: end + 4 };
}

/** De-chunks a `Transfer-Encoding: chunked` body. */
class Dechunker {
  #buf: Buffer = Buffer.alloc(0);
  #state: 'size' | 'data' | 'crlf' = 'size';
  #remaining = 0;
  ended = false;

  /** Feeds bytes; calls `out` with each piece of payload. */
  push(data: Buffer, out: (payload: Buffer) => void): void {
    let buf = this.#buf.length > 0 ? Buffer.concat([this.#buf, data]) : data;
    for (;;) {
      if (this.#state === 'size') {
        const at = buf.indexOf('\r\n');
        if (at < 0) break;
        const size = Number.parseInt(buf.toString('latin1', 0, at), 16);
        buf = buf.subarray(at + 2);
        if (size === 0) {
          this.ended = true;
          buf = Buffer.alloc(0);
          break;
        }
        this.#remaining = size;
        this.#state = 'data';
      }
      if (this.#state === 'data') {
        if (buf.length === 0) break;
        const take = Math.min(this.#remaining, buf.length);
        out(buf.subarray(0, take));
        this.#remaining -= take;
        buf = buf.subarray(take);
        if (this.#remaining > 0) break;
        this.#state = 'crlf';
      }
      if (this.#state === 'crlf') {
        if (buf.length < 2) break;
        buf = buf.subarray(2);
        this.#state = 'size';
      }
    }
    this.#buf = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
  }
}

/** Splits payload bytes into lines (without the `\n`). */
class LineBuffer {
  #partial: Buffer[] = [];

  push(payload: Buffer, onLine: (line: Buffer) => void): void {
    let start = 0;
    for (;;) {
      const nl = payload.indexOf(NEWLINE, start);
      if (nl < 0) break;
      const piece = payload.subarray(start, nl);
      if (this.#partial.length > 0) {
        this.#partial.push(piece);
        onLine(Buffer.concat(this.#partial));
        this.#partial = [];
      } else {
        onLine(piece);
      }
      start = nl + 1;
    }
    if (start < payload.length) this.#partial.push(Buffer.from(payload.subarray(start)));
  }
}

export interface StreamOptions {
  headers?: Record<string, string>;
  /** Source address (127.0.0.x), to spread ephemeral ports over several addresses. */
  localAddress?: string;
  onLine(line: Buffer): void;
  /** Called once when the stream ends (by the server, an error, or close()). */
  onEnd?(reason: 'ended' | 'error' | 'closed', error?: Error): void;
}

export interface StreamHandle {
  /** Resolves with the status once the response head arrived. */
  status: Promise<number>;
  /** Bytes of body received. */
  bytes: number;
  close(): void;
}

/** Opens a streaming GET and hands over each NDJSON line as bytes. */
export function openStream(url: string, options: StreamOptions): StreamHandle {
  const { host, port } = targetOf(url);
  const socket: Socket = connect({
    host,
    port,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  socket.setNoDelay(true);
  const request = requestBytes('GET', url, { Accept: 'application/x-ndjson', ...options.headers });
  let head: Head | null = null;
  let pending: Buffer = Buffer.alloc(0);
  const dechunker = new Dechunker();
  const lines = new LineBuffer();
  let finished = false;
  let resolveStatus!: (status: number) => void;
  let rejectStatus!: (error: Error) => void;
  const status = new Promise<number>((resolve, reject) => {
    resolveStatus = resolve;
    rejectStatus = reject;
  });
  status.catch(() => {});
  const handle: StreamHandle = {
    status,
    bytes: 0,
    close: () => {
      finish('closed');
      socket.destroy();
    },
  };
  const finish = (reason: 'ended' | 'error' | 'closed', error?: Error) => {
    if (finished) return;
    finished = true;
    rejectStatus(error ?? new Error(`stream ${reason} before its head`));
    options.onEnd?.(reason, error);
  };
  const payload = (piece: Buffer) => {
    handle.bytes += piece.length;
    lines.push(piece, options.onLine);
  };
  socket.on('connect', () => socket.write(request));
  socket.on('data', (data: Buffer) => {
    if (head === null) {
      pending = pending.length > 0 ? Buffer.concat([pending, data]) : data;
      head = parseHead(pending);
      if (head === null) return;
      resolveStatus(head.status);
      data = pending.subarray(head.bodyStart);
      pending = Buffer.alloc(0);
    }
    if (head.chunked) {
      dechunker.push(data, payload);
      if (dechunker.ended) {
        finish('ended');
        socket.destroy();
      }
    } else {
      payload(data);
    }
  });
  socket.on('error', (error) => finish('error', error));
  socket.on('close', () => finish('ended'));
  return handle;
}

export interface RawResponse {
  status: number;
  body: Buffer;
}

/** One keep-alive connection, one request at a time. */
export class RawConnection {
  readonly #socket: Socket;
  #buf: Buffer = Buffer.alloc(0);
  #head: Head | null = null;
  #body: Buffer[] = [];
  #chunks: Dechunker | null = null;
  #received = 0;
  #resolve: ((response: RawResponse) => void) | null = null;
  #reject: ((error: Error) => void) | null = null;
  readonly ready: Promise<void>;

  constructor(target: Target) {
    this.#socket = connect(target);
    this.#socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.#socket.once('connect', () => resolve());
      this.#socket.once('error', reject);
    });
    this.#socket.on('data', (data) => this.#data(data));
    this.#socket.on('error', (error) => this.#fail(error));
    this.#socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  request(bytes: Buffer): Promise<RawResponse> {
    if (this.#resolve) throw new Error('one request at a time');
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      this.#socket.write(bytes);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #fail(error: Error): void {
    const reject = this.#reject;
    this.#resolve = null;
    this.#reject = null;
    reject?.(error);
  }

  #data(data: Buffer): void {
    if (this.#head === null) {
      this.#buf = this.#buf.length > 0 ? Buffer.concat([this.#buf, data]) : data;
      this.#head = parseHead(this.#buf);
      if (this.#head === null) return;
      data = this.#buf.subarray(this.#head.bodyStart);
      this.#buf = Buffer.alloc(0);
      this.#chunks = this.#head.chunked ? new Dechunker() : null;
      this.#received = 0;
      this.#body = [];
    }
    const head = this.#head;
    if (this.#chunks) {
      this.#chunks.push(data, (piece) => this.#body.push(Buffer.from(piece)));
      if (this.#chunks.ended) this.#done(head.status);
      return;
    }
    this.#body.push(data);
    this.#received += data.length;
    if (head.length !== null && this.#received >= head.length) this.#done(head.status);
  }

  #done(status: number): void {
    const body = Buffer.concat(this.#body);
    this.#head = null;
    this.#chunks = null;
    this.#body = [];
    const resolve = this.#resolve;
    this.#resolve = null;
    this.#reject = null;
    resolve?.({ status, body });
  }
}

/** The version of a snapshot line, read from the bytes (-1 when the line has none). */
export function versionOf(line: Buffer): number {
  return numberAfter(line, '"version":');
}

/** The whole number right after `key` (its first occurrence from `from`), read from the bytes; -1 without one. */
export function numberAfter(line: Buffer, key: string, from = 0): number {
  const at = line.indexOf(key, from);
  if (at < 0) return -1;
  let v = 0;
  for (let i = at + key.length; i < line.length; i++) {
    const c = line[i]!;
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
  }
  return v;
}
