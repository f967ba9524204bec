/**
 * Output streams, items and keyed messages through liveop/client, against
 * the real server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../client/index.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

async function* tokens(count: number): AsyncGenerator<string> {
  for (let i = 0; i < count; i++) {
    yield `t${i} `;
    if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('output streams through the client', () => {
  it('pipes an async iterable into a stream, and a watcher gets every chunk once, in order', async () => {
    const client = createClient({ baseUrl: server.url });
    const session = await client.createSession({ title: 'Answer' });
    const viewer = createClient({ baseUrl: server.url }).session(session.id, { viewerToken: session.viewerToken! });
    const watching = (async () => {
      let text = '';
      for await (const snapshot of viewer.watch()) text += snapshot.outputs?.answer?.text ?? '';
      return text;
    })();
    await session.pipe('answer', tokens(500));
    const bytes = new TextEncoder().encode('é✓');
    // Bytes split inside a character still arrive as the character.
    await session.pipe('bytes', [bytes.slice(0, 1), bytes.slice(1, 4), bytes.slice(4)]);
    await session.pipe('rows', [{ sku: 'A-1' }, { sku: 'B-2' }]);
    session.complete('main');
    await session.close();
    const whole = Array.from({ length: 500 }, (_, i) => `t${i} `).join('');
    expect(await watching).toBe(whole);
    const read = await viewer.snapshot();
    expect(read.outputs).toEqual({
      answer: { offset: 0, text: whole },
      bytes: { offset: 0, text: 'é✓' },
      rows: { offset: 0, data: [{ sku: 'A-1' }, { sku: 'B-2' }] },
    });
  });

  it('sends an item with its data, and a message as a key with parameters', async () => {
    const client = createClient({ baseUrl: server.url });
    const session = await client.createSession({ title: 'Import' });
    session.log('plain');
    session.item('Imported A-1', { sku: 'A-1', qty: 3 });
    session.message('Row 3 of 9', { key: 'import.row', params: { row: 3, total: 9 } });
    await session.flush();
    const read = await session.snapshot();
    expect(read.logs.map(({ line, data }) => ({ line, data }))).toEqual([
      { line: 'plain', data: undefined },
      { line: 'Imported A-1', data: { sku: 'A-1', qty: 3 } },
    ]);
    expect(read.message).toEqual({
      text: 'Row 3 of 9',
      level: 'info',
      key: 'import.row',
      params: { row: 3, total: 9 },
    });
    await session.close();
  });
});
