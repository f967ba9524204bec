/** The health check and the element bundle. */
import { Hono } from 'hono';
import type { RouteContext } from '../context.ts';
import { ApiError, respondError } from '../errors.ts';
import { openApiDocument } from '../openapi.ts';

export function metaRoutes(r: RouteContext) {
  let made: { base: string; doc: Record<string, unknown> } | null = null;
  /** Made once per base URL (almost always one). */
  const document = (base: string) => {
    if (made?.base !== base) made = { base, doc: openApiDocument(base) };
    return made.doc;
  };
  return new Hono()
    .get('/healthz', async (c) => {
      try {
        await r.deps.ping();
        return c.json({ ok: true, ...r.deps.hub.stats() });
      } catch (error) {
        return respondError(c, error);
      }
    })
    .get('/openapi.json', (c) => c.json(document(r.base(c, '/openapi.json'))))
    .get('/widget.js', async (c) => {
      const bundle = await r.deps.widget();
      if (bundle === null) throw new ApiError(404, 'the element is not built: run npm run build');
      return c.body(bundle as Uint8Array<ArrayBuffer>, 200, {
        'Content-Type': 'text/javascript; charset=utf-8',
        'Cache-Control': 'public, max-age=300',
        'Access-Control-Allow-Origin': '*',
        'Cross-Origin-Resource-Policy': 'cross-origin',
      });
    });
}
