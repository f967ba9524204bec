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
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt } from '../support/built.ts';
import { chromium, PYTHON, python } from '../support/requirements.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { freePort } from '../support/spawned-server.ts';
import { launch, waitForShadowText } from '../widget/browser.ts';

const PACKAGE = resolve(import.meta.dirname, '../../clients/python');
const KEY = 'python-tests-key';
/** The browser test's Django site listens there (the server lets its pages read streams). */
let sitePort = 0;

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
      sitePort = await freePort();
      server = await startServer({
        apiKeys: { [KEY]: { owner: 'python' } },
        corsOrigins: [`http://127.0.0.1:${sitePort}`],
      });
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

    const pythonEnv = () => ({ LIVEOP_URL: server.url, LIVEOP_API_KEY: KEY });
    const suite = (module: string) => async () => {
      const { code, output } = await unittest(venvPython, module, pythonEnv());
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

    it.skipIf(!chromium().available)(
      "shows a Django site's operation page to the end in Chromium, its script checked against its integrity",
      async () => {
        assertBuilt('dist/live-operation.js', ['widget']);
        const child = spawn(venvPython, ['show_operation.py'], {
          cwd: join(PACKAGE, 'tests'),
          env: { ...process.env, ...pythonEnv(), SITE_PORT: String(sitePort) },
          stdio: ['pipe', 'pipe', 'pipe'],
          detached: true,
        });
        running.add(child.pid ?? 0);
        let output = '';
        child.stderr.on('data', (d) => (output += d));
        const exited = new Promise((done) => child.on('exit', done));
        const first = await new Promise<string>((done) => {
          let line = '';
          child.stdout.on('data', (d) => {
            line += d;
            if (line.includes('\n')) done(line.slice(0, line.indexOf('\n')));
          });
          child.on('exit', () => done(line));
        });
        expect(first, output).not.toBe('');
        const site = JSON.parse(first) as { url: string; session_id: string; cookie: string };

        const browser: Browser = await launch();
        try {
          const context = await browser.newContext();
          await context.addCookies([{ name: 'sessionid', value: site.cookie, url: site.url }]);
          const page = await context.newPage();
          const errors: Error[] = [];
          page.on('pageerror', (error) => errors.push(error));
          await page.goto(site.url);
          const script = page.locator('script[type=module]');
          expect(await script.getAttribute('integrity')).toMatch(/^sha384-/);
          // Defined only if the browser checked the script against its integrity and ran it.
          await page.waitForFunction(() => customElements.get('live-operation') !== undefined);
          await waitForShadowText(page, '[part~=status]', 'Waiting to start');
          child.stdin.write('go\n'); // the work starts only now: the page sees it from its start
          await waitForShadowText(page, '[part~=status]', 'Complete');
          expect(errors).toEqual([]);
        } finally {
          await browser.close();
          child.stdin.end('done\n');
        }
        expect(await exited, output).toBe(0);
      },
      60_000,
    );
  },
);
