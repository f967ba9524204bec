/**
 * The README's walkthrough, run as it is written (extracted from README.md,
 * so the docs cannot drift from what works): pasted into bash against a real
 * server, it creates, watches, reports and reads a session to its end.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcess } from './support/processes.ts';
import { startServer, type TestServer } from './support/server.ts';

const README = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');

/** The ```sh block right after the walkthrough marker. */
function walkthrough(): string {
  const marker = README.indexOf('<!-- walkthrough');
  expect(marker).toBeGreaterThan(-1);
  const block = /```sh\n([\s\S]*?)```/.exec(README.slice(marker));
  expect(block).not.toBeNull();
  return block![1]!;
}

let server: TestServer;
let dir: string;
beforeAll(async () => {
  server = await startServer();
  dir = mkdtempSync(join(tmpdir(), 'liveop-readme-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the README', () => {
  it('has a walkthrough that works when pasted into a shell', async () => {
    const { port } = new URL(server.url);
    // In a process group of its own: what the script starts in the background goes with it.
    const walking = startProcess('bash', ['-euo', 'pipefail', '-c', walkthrough()], { cwd: dir, env: { PORT: port } });
    try {
      expect(await walking.exited).toBe(0);
    } finally {
      walking.stop();
    }
    expect(walking.errors()).toBe('');
    // (stderr said nothing: the output is stdout's)
    const lines = walking.output().trim().split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({ version: 2, cancelRequested: false });
    const streamed = JSON.parse(lines.at(-2)!);
    const read = JSON.parse(lines.at(-1)!);
    for (const snapshot of [streamed, read]) {
      expect(snapshot).toMatchObject({ type: 'snapshot', status: 'complete', result: { rows: 10000 } });
    }
    expect(read.logs.map((l: { line: string }) => l.line)).toEqual(['row 4,500']);
    expect(read.tasks[0]).toMatchObject({ done: 4500, total: 10000, unit: 'rows' });
  });
});
