/** The health check and the element bundles. */
import { type Context, Hono } from 'hono';
import type { RouteContext } from '../context.ts';
import { ApiError, respondError } from '../errors.ts';
import { requestHeader } from '../node-bindings.ts';
import { openApiDocument } from '../openapi.ts';
import type { WidgetAsset } from '../widget-asset.ts';

const SCRIPT_HEADERS = {
  'Content-Type': 'text/javascript; charset=utf-8',
  'Access-Control-Allow-Origin': '*',
  'Cross-Origin-Resource-Policy': 'cross-origin',
  'X-Content-Type-Options': 'nosniff',
};

/** Where a bundle's lazily loaded parts are, relative to it. */
const CHUNKS = 'widget-chunks/';
/** A bundle's immutable file (its hash), or one of its parts relative to it. */
const BUNDLE_FILE = '(?:widget-chunks/[A-Za-z0-9_-]+|[0-9a-f]{12})\\.js';

export function metaRoutes(r: RouteContext) {
  const element = () => r.deps.widget();
  const list = () => r.deps.widget('list');
  const built = async (load: () => Promise<WidgetAsset | null>) => {
    const widget = await load();
    if (widget === null) throw new ApiError(404, 'the element is not built: run npm run build');
    return widget;
  };
  /** The stable URL: revalidated (ETag) every five minutes, so a new build reaches pages soon. */
  const stable = (load: () => Promise<WidgetAsset | null>, path: string) => async (c: Context) => {
    const widget = await built(load);
    if (requestHeader(c, 'if-none-match') === widget.etag) return c.body(null, 304, { ETag: widget.etag });
    return c.body(widget.bytes as Uint8Array<ArrayBuffer>, 200, {
      ...SCRIPT_HEADERS,
      'Cache-Control': 'public, max-age=300, must-revalidate',
      ETag: widget.etag,
      Link: `<${r.base(c, path)}/${widget.file}>; rel="canonical"`,
    });
  };
  /** This build's own URL, for <script integrity>: never changes, cached for a year. */
  const immutable = (load: () => Promise<WidgetAsset | null>, see: string) => async (c: Context) => {
    // The bundle's chunks share its folder's pattern (two patterns under one folder would cost the RegExpRouter).
    if (c.req.param('file')?.startsWith(CHUNKS)) return chunk(c);
    const widget = await built(load);
    if (c.req.path.slice(-widget.file.length - 1) !== `/${widget.file}`) {
      throw new ApiError(404, `this build of the element is gone; the current one is ${widget.file} (${see})`);
    }
    return c.body(widget.bytes as Uint8Array<ArrayBuffer>, 200, {
      ...SCRIPT_HEADERS,
      'Cache-Control': 'public, max-age=31536000, immutable',
      ETag: widget.etag,
    });
  };
  /** This build's immutable URL and its SRI hash, for `<script integrity>`. */
  const describe = (load: () => Promise<WidgetAsset | null>, path: string) => async (c: Context) => {
    const widget = await built(load);
    return c.json(
      { url: `${r.base(c, path)}/${widget.file}`, integrity: widget.integrity, bytes: widget.bytes.length },
      200,
      { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-cache' },
    );
  };
  /** A lazily loaded part of a bundle (a language, output streams): named by its content hash, so immutable. */
  const chunk = async (c: Context) => {
    const file = (c.req.param('file') ?? '').replace(CHUNKS, '');
    const widget = await r.deps.widget({ chunk: file });
    if (widget === null) throw new ApiError(404, `no such part of the element: ${file}`);
    return c.body(widget.bytes as Uint8Array<ArrayBuffer>, 200, {
      ...SCRIPT_HEADERS,
      'Cache-Control': 'public, max-age=31536000, immutable',
      ETag: widget.etag,
    });
  };
  let made: { base: string; doc: Record<string, unknown> } | null = null;
  /** Made once per base URL (almost always one). */
  const document = (base: string) => {
    if (made?.base !== base) made = { base, doc: openApiDocument(base) };
    return made.doc;
  };
  return (
    new Hono()
      .get('/healthz', async (c) => {
        try {
          await r.deps.ping();
          return c.json({ ok: true, ...r.deps.hub.stats() });
        } catch (error) {
          return respondError(c, error);
        }
      })
      .get('/openapi.json', (c) => c.json(document(r.base(c, '/openapi.json'))))
      .get('/widget.js', stable(element, '/widget.js'))
      // Under a folder of their own: a pattern beside the static routes at the top would
      // make Hono fall back from its RegExpRouter to the TrieRouter for every request
      // (~8% of an event post's CPU in the ingest bench).
      .get(`/widget/:file{${BUNDLE_FILE}}`, immutable(element, 'see /widget.json'))
      // <live-operation-list> (with <live-operation> inside), served the same way.
      .get('/widget-list.js', stable(list, '/widget-list.js'))
      .get(`/widget-list/:file{${BUNDLE_FILE}}`, immutable(list, 'see /widget-list.json'))
      // The parts the bundles load when a page needs them, relative to whichever URL the bundle
      // came from: here for /widget.js and /widget-list.js, in the patterns above for the immutable URLs.
      .get('/widget-chunks/:file{[A-Za-z0-9_-]+\\.js}', chunk)
      // What a server-rendered page needs for its <script> tag, for each bundle.
      .get('/widget.json', describe(element, '/widget.json'))
      .get('/widget-list.json', describe(list, '/widget-list.json'))
  );
}
