/**
 * Retention you choose (#24): a registered operation's `ttlSeconds` keeps
 * its sessions that long after they end, over the server's default.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot } from '../../../protocol/index.ts';
import { post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';

describe('retention per operation', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('keeps an operation’s ended session its own ttlSeconds, others the server’s default', async () => {
    server = await startServer({ runner: 'inline', sessionDefaults: { ttlSeconds: 60 } });
    server.liveop.operation('nightly', { ttlSeconds: 7 * 86_400, run: async () => {} });
    server.liveop.operation('quick', { run: async () => {} });
    const kept = async (name: string) => {
      const started = (await post(`${server!.url}/operations/${name}`, {})).body as CreatedSession;
      const snapshot = (await (await fetch(started.snapshotUrl)).json()) as Snapshot;
      expect(snapshot.status).toBe('complete');
      return (Date.parse(snapshot.expiresAt) - Date.parse(snapshot.finishedAt!)) / 1000;
    };
    expect(await kept('nightly')).toBe(7 * 86_400);
    expect(await kept('quick')).toBe(60);
  });
});
