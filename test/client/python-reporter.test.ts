/**
 * The Python reporter (server/client/python/liveop.py): its unittest suite,
 * test/client/python/test_liveop.py, run with python3 against the real
 * server. Needs python3 ≥ 3.9: skipped with its reason when missing, required
 * under `CI=true`.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcess } from '../support/processes.ts';
import { startServer, type TestServer } from '../support/server.ts';

const ROOT = resolve(import.meta.dirname, '../..');

function python(): { available: boolean; reason: string } {
  const check = spawnSync('python3', ['-c', 'import sys; sys.exit(sys.version_info < (3, 9))'], { encoding: 'utf8' });
  const available = check.status === 0;
  const reason = check.error ? 'no python3 on PATH; apt-get install -y python3' : 'python3 is older than 3.9';
  if (!available && process.env.CI === 'true') throw new Error(`python3 is required under CI=true but ${reason}`);
  if (!available) console.warn(`skipped: Python reporter tests (${reason})`);
  return { available, reason };
}

async function unittest(liveopUrl: string): Promise<{ code: number | null; output: string }> {
  const child = startProcess('python3', ['-m', 'unittest', 'discover', '-s', 'test/client/python', '-v'], {
    cwd: ROOT,
    env: { LIVEOP_URL: liveopUrl, PYTHONDONTWRITEBYTECODE: '1' },
  });
  return { code: await child.exited, output: child.output() };
}

describe.skipIf(!python().available)('the Python reporter', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it('passes its unittest suite against the real server', async () => {
    const { code, output } = await unittest(server.url);
    // "Ran 12 tests in 5.1s" and "OK" (or "FAILED (failures=1)"), so the counts show here.
    const summary = output.match(/^Ran \d+ tests? in [\d.]+s\s*\n\s*\n?(.+)$/m);
    console.log(`python3 -m unittest: ${summary ? `${summary[0].split('\n')[0]}, ${summary[1]}` : 'no summary'}`);
    expect(code, output).toBe(0);
    expect(output).not.toMatch(/skipped/);
  }, 120_000);
});
