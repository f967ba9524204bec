/**
 * The Python distribution (clients/python/): its wheel is built, installed
 * into a fresh venv, and its unittest suites run there — what users install
 * is what is tested — against the real server on a loopback port (and, for
 * Celery, a real worker on the shared Redis). Needs /usr/bin/python3 ≥ 3.9
 * with venv, Celery, redis-py and Django: skipped with its reason when
 * missing, required under `CI=true`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt } from '../support/built.ts';
import { PYTHON, python } from '../support/requirements.ts';
import { startServer, type TestServer } from '../support/server.ts';

const PACKAGE = resolve(import.meta.dirname, '../../clients/python');
const KEY = 'python-tests-key';

/** Runs a command to its end (throwing with its output when it fails). */
function run(command: string, args: string[], cwd?: string): void {
  const done = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (done.status !== 0)
    throw new Error(`${command} ${args.join(' ')}: ${done.error ?? ''}${done.stdout}${done.stderr}`);
}

/** Builds the wheel from a copy of the sources (a build writes into its tree) and installs it into a fresh venv. */
function install(dir: string): string {
  const sources = join(dir, 'src');
  cpSync(PACKAGE, sources, { recursive: true, filter: (path) => !/(\/build|\.egg-info|__pycache__)$/.test(path) });
  run(PYTHON, [
    '-m',
    'pip',
    'wheel',
    '--no-build-isolation',
    '--no-deps',
    '--no-index',
    '-q',
    '-w',
    join(dir, 'wheel'),
    sources,
  ]);
  const [wheel] = readdirSync(join(dir, 'wheel'));
  run(PYTHON, ['-m', 'venv', '--system-site-packages', join(dir, 'venv')]);
  const venvPython = join(dir, 'venv', 'bin', 'python');
  run(venvPython, ['-m', 'pip', 'install', '--no-index', '--no-deps', '-q', join(dir, 'wheel', wheel ?? 'no wheel')]);
  return venvPython;
}

/** Runs one test module of clients/python/tests in its own process group, stopped whole if the test times out. */
function unittest(venvPython: string, module: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; output: string }>((done, fail) => {
    const child = spawn(venvPython, ['-m', 'unittest', '-v', module], {
      cwd: join(PACKAGE, 'tests'),
      env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    running.add(child.pid ?? 0);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', fail);
    child.on('exit', (code) => {
      running.delete(child.pid ?? 0);
      done({ code, output });
    });
  });
}

const running = new Set<number>();

function summary(output: string): string {
  // "Ran 12 tests in 5.1s" and "OK" (or "FAILED (failures=1)"), so the counts show in the vitest log.
  const found = output.match(/^Ran \d+ tests? in [\d.]+s\s*\n\s*\n?(.+)$/m);
  return found ? `${found[0].split('\n')[0]}, ${found[1]}` : 'no summary';
}

describe.skipIf(!python('Python package', ['venv', 'celery', 'redis', 'django']).available)(
  'the Python package',
  () => {
    let dir: string;
    let venvPython: string;
    let server: TestServer;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'liveop-python-'));
      venvPython = install(dir);
      server = await startServer({ apiKeys: { [KEY]: { owner: 'python' } } });
    }, 120_000);

    afterAll(async () => {
      for (const pid of running) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const suite = (module: string) => async () => {
      const { code, output } = await unittest(venvPython, module, { LIVEOP_URL: server.url, LIVEOP_API_KEY: KEY });
      console.log(`${module}: ${summary(output)}`);
      if (process.env.LIVEOP_PYTHON_VERBOSE) console.log(output);
      expect(code, output).toBe(0);
      expect(output).not.toMatch(/skipped/);
    };

    it('the reporter passes its suite, installed from the wheel', suite('test_reporter'), 180_000);
    it('Celery tasks on LiveopTask report their life, with a real worker on Redis', suite('test_celery'), 180_000);
    it('every snippet of docs/python.md runs as it is written', async () => {
      assertBuilt('dist/live-operation-list.js', ['widget']);
      await suite('test_docs')();
    }, 180_000);
    it('the Django app renders the element with its script and serves a user their own operations', async () => {
      // The tags read the elements' /widget.json, which the server answers from the build.
      assertBuilt('dist/live-operation.js', ['widget']);
      assertBuilt('dist/live-operation-list.js', ['widget']);
      await suite('test_django')();
    }, 120_000);
  },
);
