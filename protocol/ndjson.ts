/**
 * Newline-delimited JSON, for Node and the browser alike (no Node APIs).
 * One JSON value a line; `\n` is the only separator (JSON.stringify never
 * emits a raw newline inside a value, so a line is always one value).
 */

const encoder = /* @__PURE__ */ new TextEncoder();

/** Encodes one value as an NDJSON line, as bytes ready to write to many sockets. */
export function encodeLine(value: unknown): Uint8Array {
  return encoder.encode(`${JSON.stringify(value)}\n`);
}

/** Splits text into lines, keeping a partial last line until the next chunk. */
export class LineSplitter {
  #rest = '';

  /** Feeds a chunk; returns the complete lines it finished (without `\n`; blank lines skipped). */
  push(chunk: string): string[] {
    const parts = (this.#rest + chunk).split('\n');
    this.#rest = parts.pop() ?? '';
    return parts.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line)).filter((line) => line !== '');
  }

  /** The unterminated last line, if any (a body need not end with `\n`). */
  flush(): string[] {
    const last = this.#rest.trim();
    this.#rest = '';
    return last === '' ? [] : [last];
  }
}

/**
 * A TransformStream from text chunks to parsed JSON values, one per line.
 * Pipe a `fetch` body through `TextDecoderStream` and then this.
 */
export class NdjsonParseStream<T = unknown> extends TransformStream<string, T> {
  constructor() {
    const splitter = new LineSplitter();
    super({
      transform(chunk, controller) {
        for (const line of splitter.push(chunk)) controller.enqueue(JSON.parse(line) as T);
      },
      flush(controller) {
        for (const line of splitter.flush()) controller.enqueue(JSON.parse(line) as T);
      },
    });
  }
}

/**
 * The lines of a byte stream (a `fetch` body, a Node stream), as text, as
 * they arrive. Server-Sent Events framing is read too: `data:` lines give
 * their payload, `id:`, `event:` and comment lines are skipped.
 */
export async function* readLines(body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const splitter = new LineSplitter();
  const chunks = Symbol.asyncIterator in body ? body : iterate(body);
  const unframe = (line: string): string | null =>
    line.startsWith('data:') ? line.slice(line[5] === ' ' ? 6 : 5) : /^(id|event|retry):|^:/.test(line) ? null : line;
  for await (const chunk of chunks) {
    for (const line of splitter.push(decoder.decode(chunk, { stream: true }))) {
      const text = unframe(line);
      if (text !== null) yield text;
    }
  }
  for (const line of splitter.push(decoder.decode())) {
    const text = unframe(line);
    if (text !== null) yield text;
  }
  for (const line of splitter.flush()) {
    const text = unframe(line);
    if (text !== null) yield text;
  }
}

/** The values of an NDJSON (or SSE) byte stream, parsed, as they arrive. */
export async function* readNdjson<T = unknown>(
  body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
): AsyncGenerator<T> {
  for await (const line of readLines(body)) yield JSON.parse(line) as T;
}

/** A web ReadableStream as an async iterable, releasing it when the loop stops early. */
async function* iterate(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
