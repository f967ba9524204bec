/** Every answer is the contract's JSON: unknown routes 404, wrong methods 405 with Allow. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiveop } from '../../../server/liveop.ts';
import { startServer, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

describe('routing', () => {
  it('answers an unknown route 404 with the contract’s error JSON', async () => {
    const response = await fetch(`${server.url}/nothing/here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: { code: 'not_found', message: 'no route for GET /nothing/here' },
    });
  });

  it('answers a wrong method 405 with Allow naming the right ones', async () => {
    const put = await fetch(`${server.url}/sessions/abc`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, DELETE, HEAD, OPTIONS');
    expect((await put.json()).error.code).toBe('method_not_allowed');
    const getEvents = await fetch(`${server.url}/sessions/abc/events`);
    expect(getEvents.status).toBe(405);
    expect(getEvents.headers.get('allow')).toBe('POST, OPTIONS');
    expect((await fetch(`${server.url}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('routes with Hono’s RegExpRouter: no route pattern makes every request fall back to the TrieRouter', async () => {
    // One pattern RegExpRouter cannot take (a regex parameter beside the static routes at
    // the top) made Hono's SmartRouter pick the TrieRouter for all routes: ~8% of an event
    // post's CPU in the ingest bench (npm run bench -- ingest).
    const liveop = createLiveop({});
    try {
      const app = liveop.routes();
      expect((await app.request('/healthz')).status).toBe(200);
      expect(app.router.name).toBe('SmartRouter + RegExpRouter');
    } finally {
      await liveop.close();
    }
  });
});
