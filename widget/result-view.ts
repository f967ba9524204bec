/**
 * The result panel's view model, decided without a DOM: an object result as
 * key/value pairs, any other as text, and the artifacts with only their
 * http(s) links kept. Part of the chunk that draws the panel (content-view.ts):
 * a result shows once, at the end, so none of this is in the element's bundle.
 */
import type { ResultSource } from './operation-view.ts';

export interface ResultView {
  /** An object result as key/value pairs (values that are not strings as JSON). */
  entries?: [string, string][];
  /** Any other result, as text. */
  text?: string;
  /** `url` only for http(s) links: a `javascript:` artifact URL stays text. */
  artifacts: { name: string; url?: string | undefined; text?: string | undefined }[];
}

const show = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

function safeUrl(url: string, base: string): string | undefined {
  try {
    const parsed = new URL(url, base);
    return /^https?:$/.test(parsed.protocol) ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** What the result panel shows of `source` (see `operationView`'s `result`). */
export function resultView({ snapshot: { result, artifacts }, base }: ResultSource): ResultView {
  return {
    ...(result == null
      ? {}
      : typeof result === 'object'
        ? { entries: Object.entries(result).map(([key, value]): [string, string] => [key, show(value)]) }
        : { text: show(result) }),
    artifacts: artifacts.map(({ name, url, text }) => ({ name, url: url ? safeUrl(url, base) : undefined, text })),
  };
}
