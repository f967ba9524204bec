/** An iterable piped into a session's output stream (`RemoteSession.pipe()`). */

/** What `pipe` needs of a session. */
export interface OutputTarget {
  output(stream: string, text: string): void;
  outputData(stream: string, data: unknown): void;
  flush(): Promise<void>;
}

/**
 * Sends each item of `source` to `stream` as it comes: strings (and bytes,
 * decoded as UTF-8 across chunk boundaries) as text, anything else as data
 * chunks. Resolves once the source has ended and everything is sent.
 */
export async function pipe(
  target: OutputTarget,
  stream: string,
  source: Iterable<unknown> | AsyncIterable<unknown>,
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of source) {
    if (typeof chunk === 'string') target.output(stream, chunk);
    else if (chunk instanceof Uint8Array) target.output(stream, decoder.decode(chunk, { stream: true }));
    else target.outputData(stream, chunk);
  }
  const rest = decoder.decode();
  if (rest) target.output(stream, rest);
  await target.flush();
}
