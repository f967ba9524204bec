/**
 * Liveop as a user installs it: `npm pack`, the tarball installed into a
 * fresh app with its own package.json (outside this checkout, so nothing
 * resolves from our node_modules), and there: the entry points import, a
 * consumer type-checks with `tsc --strict`, `npx liveop serve` runs and the
 * client reports to it, a page served by the app shows the element from
 * `liveop/element` in Chromium, and the README's Quick start, pasted as it
 * is, type-checks and runs an import to its end in Chromium.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcess } from './support/processes.ts';
import { chromium as chromiumRequirement } from './support/requirements.ts';
import { freePort } from './support/spawned-server.ts';
import { launch } from './widget/browser.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const version = (name: string) =>
  (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

let dir: string;
let app: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'liveop-pack-'));
  const { stdout } = await run('npm', ['pack', '--pack-destination', dir, '--ignore-scripts', '--json'], { cwd: ROOT });
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
  app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'an-app', private: true, type: 'module', dependencies: { liveop: `file:../${filename}` } }),
  );
  // Type-checking tools at the versions this checkout uses (from npm's cache when it has them).
  const tools = [
    `typescript@${version('typescript')}`,
    `@types/node@${version('@types/node')}`,
    `@types/react@${version('@types/react')}`,
  ];
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...tools], {
    cwd: app,
    timeout: 240_000,
  });
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the app's own tsc says of the project in `dir` (nothing when it type-checks). */
const typeErrors = async (dir: string): Promise<string> => {
  const tsc = join(app, 'node_modules/typescript/bin/tsc');
  const checked = await run(process.execPath, [tsc, '-p', dir], { cwd: dir, timeout: 120_000 }).catch(
    (error: { stdout: string }) => error,
  );
  return checked.stdout;
};

const node = (script: string) =>
  run(process.execPath, ['--input-type=module', '-e', script], { cwd: app, timeout: 30_000 });

describe('the installed package', () => {
  it('imports liveop, liveop/client and liveop/protocol in Node, without @keyv/redis installed', async () => {
    const { stdout } = await node(`
      const server = await import('liveop');
      const client = await import('liveop/client');
      const protocol = await import('liveop/protocol');
      console.log(typeof server.createLiveop, typeof client.createClient, protocol.isTerminal('complete'));
      let redis = 'loaded';
      try { await import('liveop/redis'); } catch (error) { redis = error.code; }
      console.log(redis);
    `);
    expect(stdout.trim().split('\n')).toEqual(['function function true', 'ERR_MODULE_NOT_FOUND']);
  });

  it('type-checks a consumer of every entry, and the README Quick start as server.ts, with the tsconfig the README gives', async () => {
    writeFileSync(
      join(app, 'consumer.tsx'),
      `import { createLiveop, type Snapshot, type LiveopOptions } from 'liveop';
import { createClient, type RemoteSession } from 'liveop/client';
import { isTerminal, type StreamLine } from 'liveop/protocol';
import type { RedisSessionStore } from 'liveop/redis';
import type { LiveOperation } from 'liveop/element/class';
import type { LiveOperationList, LiveOperationListOpenEvent } from 'liveop/element/list';
import type {} from 'liveop/element/react';

const options: LiveopOptions = { runner: 'local', rateLimits: { create: { points: 10, seconds: 1 } } };
const liveop = createLiveop(options);
liveop.operation('count', { run: async (task) => task.steps(1, 2, 'rows') });
export const app = liveop.routes();
export const done = (s: Snapshot, line: StreamLine) => isTerminal(s.status) || line.type === 'heartbeat';
export async function report(session: RemoteSession) {
  session.steps('a', 1, 2);
  await session.close();
}
export const client = createClient({ baseUrl: 'http://127.0.0.1:8787' });
export type Store = RedisSessionStore;
export const element = (e: LiveOperation) => e.snapshot?.percent;
export const list = (e: LiveOperationList, open: LiveOperationListOpenEvent) => [e.refreshInterval, open.sessionId];
export const jsx = <live-operation src="/sessions/x/stream" token="t" log-open />;
`,
    );
    // The README's Quick start, as server.ts, in the same program: one tsc run checks both.
    writeFileSync(join(app, 'server.ts'), readmeBlock('quick start:', 'js'));
    // The tsconfig the README gives (strict, NodeNext; no skipLibCheck, so our .d.ts files are checked
    // too), with JSX for the .tsx consumer.
    const { compilerOptions } = JSON.parse(readmeBlock('quick start tsconfig', 'json')) as {
      compilerOptions: Record<string, unknown>;
    };
    expect(compilerOptions).toMatchObject({ strict: true, module: 'NodeNext' });
    expect(compilerOptions).not.toHaveProperty('skipLibCheck');
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { ...compilerOptions, jsx: 'react-jsx' },
        files: ['consumer.tsx', 'server.ts'],
      }),
    );
    expect(await typeErrors(app)).toBe('');
  }, 120_000);

  it('runs `npx liveop serve`, and the client reports to it and watches a session to its end', async () => {
    const port = await freePort();
    // npx runs the server as its child: stopping the group stops both.
    const server = startProcess('npx', ['liveop', 'serve'], { cwd: app, env: { PORT: String(port) } });
    try {
      await expect.poll(server.output, { timeout: 20_000 }).toMatch(/listening on/);
      const { stdout } = await node(`
        import { createClient } from 'liveop/client';
        const client = createClient({ baseUrl: 'http://127.0.0.1:${port}' });
        const session = await client.createSession({ title: 'From the package', tasks: { rows: 'Rows' } });
        const seen = [];
        const watching = (async () => { for await (const s of session.watch()) seen.push(s.status); })();
        session.steps('rows', 5, 10, 'rows');
        session.log('half way');
        session.result({ rows: 10 });
        session.complete('rows');
        await session.close();
        await watching;
        const last = await session.snapshot();
        console.log(JSON.stringify({ last: seen.at(-1), result: last.result, logs: last.logs.map((l) => l.line) }));
      `);
      expect(JSON.parse(stdout)).toEqual({ last: 'complete', result: { rows: 10 }, logs: ['half way'] });
    } finally {
      server.stop('SIGTERM');
      await server.exited;
    }
  }, 60_000);

  it('says which optional package to install when REDIS_URL or `liveop worker` needs one that is missing', async () => {
    const start = async (command: string, env: Record<string, string>) => {
      const started = startProcess('npx', ['liveop', command], { cwd: app, env });
      expect(await started.exited).toBe(1);
      return started.output().trim();
    };
    const redis = { REDIS_URL: 'redis://127.0.0.1:6379', PORT: String(await freePort()) };
    expect(await start('serve', redis)).toBe(
      'liveop: REDIS_URL needs the optional package @keyv/redis: npm install @keyv/redis',
    );
    expect(await start('serve', { ...redis, LIVEOP_RUNNER: 'bullmq' })).toBe(
      'liveop: LIVEOP_RUNNER=bullmq needs the optional packages bullmq, ioredis, @keyv/redis: npm install bullmq ioredis @keyv/redis',
    );
    expect(await start('worker', redis)).toBe(
      'liveop: liveop worker needs the optional packages bullmq, ioredis, @keyv/redis: npm install bullmq ioredis @keyv/redis',
    );
  }, 60_000);

  const browser = chromiumRequirement();
  it.skipIf(!browser.available)(
    'shows a session in Chromium on a page that imports liveop/element from the app',
    async () => {
      const liveopPort = await freePort();
      const liveopServer = startProcess('npx', ['liveop', 'serve'], { cwd: app, env: { PORT: String(liveopPort) } });
      const files = staticServer(app);
      const pagePort = await freePort();
      await new Promise<void>((done) => files.listen(pagePort, '127.0.0.1', done));
      const chrome = await launch();
      try {
        await expect.poll(liveopServer.output, { timeout: 20_000 }).toMatch(/listening on/);
        const created = await (
          await fetch(`http://127.0.0.1:${liveopPort}/sessions`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ title: 'Installed element', tasks: { a: 'A' } }),
          })
        ).json();
        // The app's own page: bare imports mapped to its node_modules, as any bundler or import map would.
        const nm = '/node_modules';
        const importMap = {
          imports: {
            'liveop/element': `${nm}/liveop/dist/lib/widget/live-operation-define.js`,
            lit: `${nm}/lit/index.js`,
            'lit/': `${nm}/lit/`,
            'lit-html': `${nm}/lit-html/lit-html.js`,
            'lit-html/': `${nm}/lit-html/`,
            'lit-element/': `${nm}/lit-element/`,
            '@lit/reactive-element': `${nm}/@lit/reactive-element/reactive-element.js`,
            '@lit/reactive-element/': `${nm}/@lit/reactive-element/`,
          },
        };
        writeFileSync(
          join(app, 'index.html'),
          `<!doctype html><meta charset="utf-8"><script type="importmap">${JSON.stringify(importMap)}</script>
<script type="module">import 'liveop/element';</script>
<live-operation src="${created.streamUrl}" token="${created.viewerToken}"></live-operation>`,
        );
        const page = await chrome.newPage();
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(error.message));
        await page.goto(`http://127.0.0.1:${pagePort}/index.html`);
        await page.waitForFunction(
          () =>
            document
              .querySelector('live-operation')
              ?.shadowRoot?.querySelector('[part~=title]')
              ?.textContent?.trim() === 'Installed element',
          undefined,
          { timeout: 15_000 },
        );
        expect(errors).toEqual([]);
      } finally {
        await chrome.close();
        files.close();
        liveopServer.stop('SIGTERM');
        await liveopServer.exited;
      }
    },
    60_000,
  );
  describe('the README Quick start, pasted into the app as it is', () => {
    let quickStart: string;
    beforeAll(() => {
      quickStart = join(app, 'quick-start');
      mkdirSync(quickStart);
      writeFileSync(join(quickStart, 'package.json'), JSON.stringify({ type: 'module' }));
      writeFileSync(join(quickStart, 'server.mjs'), readmeBlock('quick start:', 'js'));
    });

    it.skipIf(!browser.available)(
      'runs with node server.mjs: the page it serves starts an import and shows it to its end',
      async () => {
        const port = await freePort();
        const server = startProcess(process.execPath, ['server.mjs'], { cwd: quickStart, env: { PORT: String(port) } });
        const chrome = await launch();
        try {
          await expect.poll(server.output, { timeout: 20_000 }).toMatch(/open http:\/\/127\.0\.0\.1:\d+/);
          const page = await chrome.newPage();
          const errors: string[] = [];
          page.on('pageerror', (error) => errors.push(error.message));
          await page.goto(`http://127.0.0.1:${port}/`);
          await page.click('#go');
          const shown = (part: string) =>
            page.evaluate(
              (part) =>
                document
                  .querySelector('live-operation')
                  ?.shadowRoot?.querySelector(`[part~=${part}]`)
                  ?.textContent?.trim(),
              part,
            );
          await expect.poll(() => shown('status'), { timeout: 30_000 }).toBe('Complete');
          expect(await shown('title')).toBe('Import catalogue');
          expect(await shown('result')).toMatch(/imported\s*500/);
          expect(errors).toEqual([]);
        } finally {
          await chrome.close();
          server.stop('SIGTERM');
          await server.exited;
        }
      },
      60_000,
    );
  });
});

/** The fenced block of `language` right after the README's `marker` comment. */
function readmeBlock(marker: string, language: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(`<!-- ${marker}`);
  expect(at).toBeGreaterThan(-1);
  const block = new RegExp(`\`\`\`${language}\n([\\s\\S]*?)\`\`\``).exec(readme.slice(at));
  expect(block).not.toBeNull();
  return block![1]!;
}

/** Serves a folder's files, as the app's own web server would. */
function staticServer(root: string): Server {
  const types: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html', '.json': 'application/json' };
  return createServer((request, response) => {
    const path = join(root, decodeURIComponent(new URL(request.url!, 'http://x').pathname));
    try {
      const body = readFileSync(path);
      response.writeHead(200, { 'Content-Type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
}
