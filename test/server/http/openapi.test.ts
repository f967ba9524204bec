/**
 * `/openapi.json`: a valid OpenAPI 3.1 document whose request schemas are the
 * routes' own — a body it describes as valid is accepted, one it describes as
 * invalid is refused.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document, naming the server it was read from', async () => {
    const response = await fetch(`${server.url}/openapi.json`);
    expect(response.status).toBe(200);
    const document = await response.json();
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(document.servers).toEqual([{ url: server.url }]);
  });

  it('describes every route the server answers', async () => {
    const document = await (await fetch(`${server.url}/openapi.json`)).json();
    // Every path the app routes (its middleware on '*' and the hashed bundle URLs, which
    // /widget.json and /widget-list.json name, aside), in OpenAPI's {param} form.
    const routed = server.liveop
      .routes()
      .routes.map((route) => route.path)
      .filter((path) => path !== '/*' && !path.includes('{'))
      .map((path) => path.replace(/:(\w+)/g, '{$1}'));
    expect(Object.keys(document.paths).sort()).toEqual([...new Set(routed)].sort());
    expect(Object.keys(document.paths)).toContain('/widget-list.json');
  });

  it('holds the same limits the routes enforce', async () => {
    const { components } = await (await fetch(`${server.url}/openapi.json`)).json();
    expect(components.schemas.CreateSession.properties.title.maxLength).toBe(500);
    expect(components.schemas.EventBatch.maxItems).toBe(10_000);
    const tooLong = await post(`${server.url}/sessions`, { title: 'x'.repeat(501) });
    expect(tooLong.status).toBe(400);
  });
});
