/**
 * The element runs on other people's pages: every answer a browser reads
 * (snapshots, streams, errors) must carry CORS headers for allowed origins,
 * and none for others.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CreatedSession } from '../../../protocol/index.ts';
import { createLiveop } from '../../../server/liveop.ts';
import { bearer, post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';

const KEY = 'cors-key-0123456789abcdef';
const SHOP = 'https://shop.example';

let server: TestServer;
let session: CreatedSession;
beforeAll(async () => {
  server = await startServer({ apiKeys: { [KEY]: { owner: 'ann' } }, corsOrigins: [SHOP] });
  session = (await post(`${server.url}/sessions`, { title: 'T', tasks: { a: 'A' } }, bearer(KEY))).body;
});
afterAll(() => server.close());

const from = (origin: string, token = session.viewerToken) => ({ Origin: origin, ...bearer(token) });

describe('CORS', () => {
  it('lets an allowed origin read snapshots, with Vary: Origin', async () => {
    const response = await fetch(session.snapshotUrl, { headers: from(SHOP) });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(response.headers.get('vary')).toMatch(/Origin/);
  });

  it('gives another origin no grant (but the same answer, varied by origin)', async () => {
    const response = await fetch(session.snapshotUrl, { headers: from('https://evil.example') });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('vary')).toMatch(/Origin/);
  });

  it('grants errors too, so the page can read why (401 with a bad token)', async () => {
    const response = await fetch(session.snapshotUrl, { headers: from(SHOP, 'nope.nope') });
    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect((await response.json()).error.code).toBe('unauthorized');
  });

  it('grants streams', async () => {
    const controller = new AbortController();
    const response = await fetch(session.streamUrl, { headers: from(SHOP), signal: controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(SHOP);
    controller.abort();
  });

  it('answers preflights for the headers the element sends', async () => {
    const response = await fetch(`${session.snapshotUrl}/cancel`, {
      method: 'OPTIONS',
      headers: {
        Origin: SHOP,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(response.headers.get('access-control-allow-headers')).toMatch(/Authorization/i);
  });

  it('tells the operator once when a browser on a refused origin calls, and not for allowed or same-origin ones', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const from = (origin: string) => fetch(session.snapshotUrl, { headers: { Origin: origin, ...bearer(KEY) } });
      await from('https://refused-once.example');
      await from('https://refused-once.example');
      await from(SHOP);
      await from(server.url);
      const refused = warn.mock.calls.map((call) => String(call[0])).filter((line) => line.includes('refused'));
      expect(refused).toEqual([
        expect.stringMatching(/refused a browser request from https:\/\/refused-once\.example/),
      ]);
    } finally {
      warn.mockRestore();
    }
  });

  it('grants only loopback pages in open mode, and any origin only when asked with *', async () => {
    const open = await startServer();
    const star = await startServer({ corsOrigins: '*' });
    try {
      const created = (await post(`${open.url}/sessions`, { title: 'T' }, {})).body as CreatedSession;
      for (const local of ['http://localhost:5173', 'http://127.0.0.1:3000', 'http://[::1]:8080', 'http://localhost']) {
        const response = await fetch(created.snapshotUrl, { headers: { Origin: local } });
        expect(response.headers.get('access-control-allow-origin')).toBe(local);
        expect(response.headers.get('vary')).toMatch(/Origin/);
      }
      for (const foreign of ['https://anywhere.example', 'http://localhost.evil.example', 'https://localhost:5173']) {
        const response = await fetch(created.snapshotUrl, { headers: { Origin: foreign } });
        expect(response.status).toBe(200);
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
        const preflight = await fetch(`${created.snapshotUrl}/cancel`, {
          method: 'OPTIONS',
          headers: { Origin: foreign, 'Access-Control-Request-Method': 'POST' },
        });
        expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
      }
      const anywhere = (await post(`${star.url}/sessions`, { title: 'T' }, {})).body as CreatedSession;
      const response = await fetch(anywhere.snapshotUrl, { headers: { Origin: 'https://anywhere.example' } });
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('vary')).toBeNull();
    } finally {
      await open.close();
      await star.close();
    }
  });

  it('answers in open mode only requests addressed to a loopback host (no DNS rebinding)', async () => {
    const open = await startServer();
    try {
      const created = (await post(`${open.url}/sessions`, { title: 'T' }, {})).body as CreatedSession;
      // A page on rebind.example whose name now points at 127.0.0.1 is same-origin to itself, and says so in Host.
      const { request } = await import('node:http');
      const { port } = new URL(open.url);
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, path: `/sessions/${created.id}`, headers: { Host: `rebind.example:${port}` } },
          (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body).error.message).toMatch(/loopback|this machine/);
      const keyed = createLiveop({ apiKeys: { [KEY]: { owner: 'ann' } } });
      try {
        const response = await keyed.routes().request('http://progress.example.com/sessions', { headers: bearer(KEY) });
        expect(response.status).toBe(200);
      } finally {
        await keyed.close();
      }
    } finally {
      await open.close();
    }
  });

  it('sets the same headers when the app is not served by @hono/node-server (app.request)', async () => {
    const liveop = createLiveop({ apiKeys: { [KEY]: { owner: 'ann' } }, corsOrigins: [SHOP] });
    try {
      const app = liveop.routes();
      const response = await app.request('/sessions', { headers: { Origin: SHOP, ...bearer(KEY) } });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(SHOP);
      expect(response.headers.get('vary')).toMatch(/Origin/);
      const refused = await app.request('/sessions', { headers: { Origin: 'https://evil.example', ...bearer(KEY) } });
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await liveop.close();
    }
  });
});
