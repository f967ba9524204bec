/**
 * Newline-delimited JSON, for Node and the browser alike (no Node APIs).
 * One JSON value a line; `\n` is the only separator (JSON.stringify never
 * emits a raw newline inside a value, so a line is always one value).
 */

const encoder = new TextEncoder();

/** Encodes one value as an NDJSON line, as bytes ready to write to many sockets. */
export function encodeLine(value: unknown): Uint8Array {
  return encoder.encode(`${JSON.stringify(value)}\n`);
}

/** Splits text into lines, keeping a partial last line until the next chunk. */
export class LineSplitter {
  #rest = '';

  /** Feeds a chunk; returns the complete lines it finished (without `\n`). */
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
