/**
 * Element: the bundle's size (min+gzip), and in headless Chromium the time
 * to render a 100-task session and the frame times while 60 updates a
 * second are applied to it (host-fed through the `snapshot` property).
 * The baseline is what a hand-rolled polling page does: rebuild the list
 * with `innerHTML` on every snapshot.
 *
 * Frame time = main-thread work per frame: the script of the updates applied
 * since the previous frame (until Lit's `updateComplete`) plus the frame's
 * style, layout and paint (from the `requestAnimationFrame` callback to a
 * message posted from it, which runs once the frame is rendered). The frame
 * interval (`requestAnimationFrame` deltas) says whether frames were dropped.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { BASELINE_RENDERER } from '../baseline/element.ts';
import type { Row, ScenarioResult } from '../lib/report.ts';

export interface ElementOptions {
  updatesPerSecond: number;
  seconds: number;
  tasks: number;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUNDLE = join(ROOT, 'dist', 'live-operation.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ORIGIN = 'http://bench.invalid';

/** Runs in the page: snapshot factory, frame meter, and the two drivers. */
const PAGE_SCRIPT = `
${BASELINE_RENDERER}
const iso = (ms) => new Date(ms).toISOString();
const started = Date.now();
window.makeSnapshot = (n, version) => {
  // Tasks run ten at a time; each update moves the running ones on.
  const tasks = [];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const progress = Math.max(0, Math.min(100, version * 2 - i * 10));
    const status = progress >= 100 ? 'complete' : progress > 0 ? 'running' : 'pending';
    const percent = status === 'complete' ? 100 : Math.min(99, Math.floor(progress));
    sum += percent;
    tasks.push({ id: 't' + i, name: 'Import batch ' + (i + 1), status, percent, simulated: false, stalled: false,
      etaMs: status === 'running' ? (100 - percent) * 500 : status === 'complete' ? 0 : null,
      ...(status === 'running' ? { message: 'Row ' + percent * 100 + ' of 10,000', level: 'info', done: percent * 100, total: 10000 } : {}) });
  }
  const percent = Math.min(99, Math.floor(sum / n));
  return { type: 'snapshot', id: 'bench', version, title: 'Nightly import', status: 'running', percent,
    etaMs: (100 - percent) * 1000, tasks, stages: [], message: { text: 'Update ' + version, level: 'info' },
    logs: [{ seq: version, at: iso(started + version * 16), line: 'update ' + version }], logSeq: version,
    result: null, artifacts: [], error: null, cancelRequested: false, next: null,
    createdAt: iso(started), startedAt: iso(started), finishedAt: null, expiresAt: iso(started + 3600000) };
};

const pct = (values, p) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

window.runBench = async (kind, n, updatesPerSecond, seconds) => {
  const host = document.getElementById(kind);
  const apply = kind === 'element'
    ? async (s) => { host.snapshot = s; await host.updateComplete; }
    : async (s) => { window.renderBaseline(host, s); };
  // First render of the whole session, to a painted frame.
  const t0 = performance.now();
  await apply(window.makeSnapshot(n, 1));
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r)));
  const firstRenderMs = performance.now() - t0;

  let script = 0;
  let pendingScript = 0;
  let frameStart = 0;
  let last = 0;
  let running = true;
  const busy = [];
  const intervals = [];
  const channel = new MessageChannel();
  channel.port1.onmessage = () => busy.push(pendingScript + (performance.now() - frameStart));
  const onFrame = () => {
    if (!running) return;
    const now = performance.now();
    if (last) intervals.push(now - last);
    last = now;
    frameStart = now;
    pendingScript = script;
    script = 0;
    channel.port2.postMessage(0);
    requestAnimationFrame(onFrame);
  };
  requestAnimationFrame(onFrame);
  let version = 1;
  let updates = 0;
  await new Promise((done) => {
    const timer = setInterval(() => {
      version += 1;
      const snapshot = window.makeSnapshot(n, version);
      const t = performance.now();
      apply(snapshot).then(() => { script += performance.now() - t; updates += 1; });
    }, 1000 / updatesPerSecond);
    setTimeout(() => { clearInterval(timer); done(); }, seconds * 1000);
  });
  running = false;
  await new Promise((r) => setTimeout(r, 100));
  const budget = 1000 / 60;
  return {
    firstRenderMs,
    updates,
    frames: intervals.length,
    frameTimeP50: pct(busy, 50),
    frameTimeP95: pct(busy, 95),
    frameTimeMax: Math.max(...busy),
    intervalP50: pct(intervals, 50),
    intervalP95: pct(intervals, 95),
    droppedPercent: (intervals.filter((i) => i > budget * 1.5).length / Math.max(1, intervals.length)) * 100,
  };
};
`;

interface BrowserRun {
  firstRenderMs: number;
  updates: number;
  frames: number;
  frameTimeP50: number;
  frameTimeP95: number;
  frameTimeMax: number;
  intervalP50: number;
  intervalP95: number;
  droppedPercent: number;
}

function notBuilt(reason: string): ScenarioResult {
  return {
    scenario: 'element',
    params: {},
    rows: [],
    notes: [`element: not built (${reason}); skipped`],
    data: { skipped: reason },
  };
}

export async function runElement(o: ElementOptions, log: (s: string) => void): Promise<ScenarioResult> {
  if (!existsSync(BUNDLE)) {
    log('  dist/live-operation.js is missing: npm run build…');
    try {
      execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'ignore', timeout: 180_000 });
    } catch {
      // reported below
    }
    if (!existsSync(BUNDLE)) return notBuilt('dist/live-operation.js missing and npm run build did not make it');
  }
  if (!existsSync(CHROMIUM)) return notBuilt(`no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`);
  const bundle = readFileSync(BUNDLE);
  const gzipped = gzipSync(bundle, { level: 9 }).length;

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.route(`${ORIGIN}/**`, (route) => {
      const path = new URL(route.request().url()).pathname;
      if (path === '/widget.js') {
        return route.fulfill({ body: bundle, contentType: 'text/javascript; charset=utf-8' });
      }
      return route.fulfill({
        contentType: 'text/html; charset=utf-8',
        body: `<!doctype html><html><head><meta charset="utf-8"><script type="module" src="/widget.js"></script></head>
<body><live-operation id="element"></live-operation><div id="baseline"></div><script>${PAGE_SCRIPT}</script></body></html>`,
      });
    });
    await page.goto(`${ORIGIN}/`);
    const defined = await page
      .evaluate(() =>
        Promise.race([
          customElements.whenDefined('live-operation').then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
        ]),
      )
      .catch(() => false);
    if (!defined) return notBuilt('<live-operation> was not defined by dist/live-operation.js');
    const run = (kind: 'element' | 'baseline') =>
      page.evaluate(
        ([k, n, ups, s]) =>
          (
            window as unknown as {
              runBench(kind: string, n: number, ups: number, seconds: number): Promise<BrowserRun>;
            }
          ).runBench(k, n, ups, s),
        [kind, o.tasks, o.updatesPerSecond, o.seconds] as const,
      );
    log('  <live-operation>…');
    const element = await run('element');
    await page.evaluate(() => document.getElementById('element')?.remove());
    log('  baseline (innerHTML)…');
    const baseline = await run('baseline');
    const rows: Row[] = [
      {
        metric: 'bundle, min+gzip (KB, Lit included)',
        liveop: gzipped / 1024,
        target: '≤ 12 KB',
        met: gzipped <= 12 * 1024,
      },
      { metric: 'bundle, min (KB)', liveop: bundle.length / 1024 },
      {
        metric: `first render, ${o.tasks} tasks (ms, to a painted frame)`,
        liveop: element.firstRenderMs,
        baseline: baseline.firstRenderMs,
        better: 'lower',
      },
      {
        metric: `frame time p50 at ${o.updatesPerSecond} updates/s (ms)`,
        liveop: element.frameTimeP50,
        baseline: baseline.frameTimeP50,
        better: 'lower',
      },
      {
        metric: `frame time p95 at ${o.updatesPerSecond} updates/s (ms)`,
        liveop: element.frameTimeP95,
        baseline: baseline.frameTimeP95,
        better: 'lower',
        target: '< 16 ms',
        met: element.frameTimeP95 < 16,
      },
      {
        metric: 'frame time max (ms)',
        liveop: element.frameTimeMax,
        baseline: baseline.frameTimeMax,
        better: 'lower',
      },
      {
        metric: 'frame interval p95 (ms; 16.7 = every frame on time)',
        liveop: element.intervalP95,
        baseline: baseline.intervalP95,
        better: 'lower',
      },
      {
        metric: 'frames dropped (% of intervals > 25 ms)',
        liveop: element.droppedPercent,
        baseline: baseline.droppedPercent,
        better: 'lower',
      },
    ];
    return {
      scenario: 'element',
      params: { tasks: o.tasks, updatesPerSecond: o.updatesPerSecond, seconds: o.seconds },
      rows,
      notes: [
        `updates applied: element ${element.updates}, baseline ${baseline.updates} ` +
          `(of ${o.updatesPerSecond * o.seconds}); frames: ${element.frames} / ${baseline.frames}`,
        `Chromium ${browser.version()} headless (${CHROMIUM}), 1280×900; bundle ${BUNDLE.replace(`${ROOT}/`, '')}`,
      ],
      data: { bundleBytes: bundle.length, gzippedBytes: gzipped, element, baseline },
    };
  } finally {
    await browser.close();
  }
}
