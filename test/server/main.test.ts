import { afterEach, describe, expect, it } from 'vitest';
import { openStream, post } from '../support/ndjson-client.ts';
import { type SpawnedServer, spawnServer } from '../support/spawned-server.ts';

let server: SpawnedServer | null = null;
afterEach(() => {
  server?.kill();
  server = null;
});

async function start(env: Record<string, string>): Promise<SpawnedServer> {
  server = await spawnServer(env);
  return server;
}

describe('the standalone server', () => {
  it('says it is open when no keys are set, and refuses to bind beyond loopback that way', async () => {
    const open = await start({});
    expect(open.output()).toMatch(/OPEN mode/);
    open.kill();
    const wide = await start({ HOST: '0.0.0.0' });
    expect(await wide.exited).toBe(1);
    expect(wide.output()).toMatch(/refusing to bind 0\.0\.0\.0 with no API keys/);
  }, 30_000);

  it('on SIGTERM tells open streams to reconnect, stops accepting, and exits 0', async () => {
    const running = await start({});
    const created = (await post(`${running.url}/sessions`, { title: 'Long' })).body;
    const stream = await openStream(created.streamUrl);
    const sse = await openStream(created.streamUrl, { headers: { Accept: 'text/event-stream' } });
    await stream.waitFor((l) => l.type === 'snapshot');
    await sse.waitFor((l) => l.type === 'snapshot');
    running.kill('SIGTERM');
    await Promise.all([stream.ended, sse.ended]);
    expect(stream.lines.at(-1)).toEqual({ type: 'reconnect' });
    // EventSource hears only `data:` lines: the reconnect line is an SSE event like the others.
    expect(sse.raw()).toMatch(/\ndata: \{"type":"reconnect"\}\n\n$/);
    expect(await running.exited).toBe(0);
    await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
  }, 30_000);
});
