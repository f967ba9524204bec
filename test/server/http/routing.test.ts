/** Every answer is the contract's JSON: unknown routes 404, wrong methods 405 with Allow. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
