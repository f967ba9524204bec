/**
 * A hosted page per session: `GET /watch/:id?token=…` shows its
 * `<live-operation>`, a link to share (liveops' create → redirect → live
 * page). Nothing from the request reaches the page unchecked: the id and the
 * token must look like ones this server makes, and are HTML-escaped anyway.
 */
import { Hono } from 'hono';
import { sessionStreamUrl, withToken } from '../../../protocol/index.ts';
import { LiveopError } from '../../core/errors.ts';
import type { RouteContext } from '../context.ts';

const ID = /^[A-Za-z0-9_-]{1,128}$/;
const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function pageRoutes(r: RouteContext) {
  return new Hono().get('/watch/:id', (c) => {
    const id = c.req.param('id');
    const token = c.req.query('token') ?? '';
    if (!ID.test(id)) throw new LiveopError('not_found', 'no such session');
    if (token !== '' && !TOKEN.test(token)) throw new LiveopError('invalid', 'token: not a Liveop token');
    const base = r.base(c, `/watch/${id}`);
    const src = withToken(sessionStreamUrl(base, id), token);
    const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Progress</title>
<script type="module" src="${escapeHtml(base)}/widget.js"></script>
<style>:root{color-scheme:light dark}body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}</style>
</head>
<body>
<live-operation src="${escapeHtml(src)}" log-open></live-operation>
</body>
</html>`;
    return c.html(html, 200, {
      'Cache-Control': 'no-store',
      // The page holds a token in its URL: no referrer, no framing by others, nothing but our script.
      'Content-Security-Policy': `default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'`,
      'Referrer-Policy': 'no-referrer',
    });
  });
}
