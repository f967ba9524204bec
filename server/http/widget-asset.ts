/**
 * The element bundle as the server hands it out: its bytes, an ETag, a
 * content-hashed file name (served `immutable`, so a page that names it is
 * never served a stale copy and never revalidates), and its Subresource
 * Integrity hash for `<script integrity>`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export interface WidgetAsset {
  bytes: Uint8Array;
  /** `widget.<12 hex of sha256>.js` */
  file: string;
  etag: string;
  /** `sha384-…`, for `<script integrity>`. */
  integrity: string;
}

export function describeWidget(bytes: Uint8Array): WidgetAsset {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return {
    bytes,
    file: `widget.${sha256.slice(0, 12)}.js`,
    etag: `"${sha256.slice(0, 32)}"`,
    integrity: `sha384-${createHash('sha384').update(bytes).digest('base64')}`,
  };
}

/** Reads the bundle once it exists (a checkout may build it after the server starts). */
export function widgetLoader(path: string): () => Promise<WidgetAsset | null> {
  let loading: Promise<WidgetAsset | null> | null = null;
  return () => {
    loading ??= readFile(path).then(
      (bytes) => describeWidget(new Uint8Array(bytes)),
      () => {
        loading = null; // not built yet: look again next time
        return null;
      },
    );
    return loading;
  };
}
