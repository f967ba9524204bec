import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { assertBuilt } from '../support/built';
import { openStream, post } from '../support/ndjson-client';

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

let child: ChildProcess | null = null;
afterEach(() => {
  child?.kill('SIGKILL');
  child = null;
});

async function start(
  env: Record<string, string>,
): Promise<{ url: string; output: () => string; exited: Promise<number | null> }> {
  const port = await freePort();
  // What `npm start` runs: the built server.
  assertBuilt('dist/server.js', ['server', 'demo']);
  child = spawn(process.execPath, ['--enable-source-maps', 'dist/server.js'], {
    env: { ...process.env, PORT: String(port), LIVEOP_DEMO: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 15_000;
  while (!output.includes('listening') && Date.now() < deadline) {
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `http://127.0.0.1:${port}`, output: () => output, exited };
}

describe('the standalone server', () => {
  it('says it is open when no keys are set, and refuses to bind beyond loopback that way', async () => {
    const open = await start({});
    expect(open.output()).toMatch(/OPEN mode/);
    child!.kill('SIGKILL');
    const wide = await start({ HOST: '0.0.0.0' });
    expect(await wide.exited).toBe(1);
    expect(wide.output()).toMatch(/refusing to bind 0\.0\.0\.0 with no API keys/);
  }, 30_000);

  it('on SIGTERM tells open streams to reconnect, stops accepting, and exits 0', async () => {
    const server = await start({});
    const created = (await post(`${server.url}/sessions`, { title: 'Long' })).body;
    const stream = await openStream(created.streamUrl);
    await stream.waitFor((l) => l.type === 'snapshot');
    child!.kill('SIGTERM');
    await stream.ended;
    expect(stream.lines.at(-1)).toEqual({ type: 'reconnect' });
    expect(await server.exited).toBe(0);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  }, 30_000);
});
