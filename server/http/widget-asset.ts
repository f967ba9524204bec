/**
 * The element bundles as the server hands them out — `<live-operation>`'s
 * (`/widget.js`) and `<live-operation-list>`'s (`/widget-list.js`), which the
 * build puts beside it: their bytes, an ETag, a content-hashed file name
 * (served `immutable`, so a page that names it is never served a stale copy
 * and never revalidates), and the Subresource Integrity hash for
 * `<script integrity>`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface WidgetAsset {
  bytes: Uint8Array;
  /** `widget/<12 hex of sha256>.js` (`widget-list/…` for the list's), relative to the mount */
  file: string;
  etag: string;
  /** `sha384-…`, for `<script integrity>`. */
  integrity: string;
}

/**
 * `element`: `<live-operation>`; `list`: `<live-operation-list>` (with `<live-operation>` inside);
 * `{ chunk }`: a part the bundles load only when a page needs it (a language, output streams),
 * by its content-hashed file name in dist/widget-chunks/.
 */
export type WidgetBundle = 'element' | 'list' | { chunk: string };

/** A chunk's file name as the build makes it (`de-EvLpxWh1.js`): nothing else is read. */
export const CHUNK_FILE = /^[A-Za-z0-9_-]{1,80}\.js$/;

export function describeWidget(bytes: Uint8Array, name = 'widget'): WidgetAsset {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return {
    bytes,
    file: `${name}/${sha256.slice(0, 12)}.js`,
    etag: `"${sha256.slice(0, 32)}"`,
    integrity: `sha384-${createHash('sha384').update(bytes).digest('base64')}`,
  };
}

/** Reads a bundle once it exists (a checkout may build it after the server starts). */
function fileLoader(path: string, name: string): () => Promise<WidgetAsset | null> {
  let loading: Promise<WidgetAsset | null> | null = null;
  return () => {
    loading ??= readFile(path).then(
      (bytes) => describeWidget(new Uint8Array(bytes), name),
      () => {
        loading = null; // not built yet: look again next time
        return null;
      },
    );
    return loading;
  };
}

/**
 * The bundles, from the element's at `path` (dist/live-operation.js) and the
 * list's beside it (live-operation-list.js in the same folder).
 */
export function widgetLoader(path: string): (bundle?: WidgetBundle) => Promise<WidgetAsset | null> {
  const element = fileLoader(path, 'widget');
  const list = fileLoader(join(dirname(path), 'live-operation-list.js'), 'widget-list');
  const chunks = new Map<string, () => Promise<WidgetAsset | null>>();
  const chunk = (file: string) => {
    if (!CHUNK_FILE.test(file)) return Promise.resolve(null);
    let load = chunks.get(file);
    if (load === undefined) {
      load = fileLoader(join(dirname(path), 'widget-chunks', file), 'widget-chunks');
      // A few dozen files at most; one loader each, kept.
      if (chunks.size < 200) chunks.set(file, load);
    }
    return load();
  };
  return (bundle = 'element') =>
    typeof bundle === 'object' ? chunk(bundle.chunk) : bundle === 'list' ? list() : element();
}
