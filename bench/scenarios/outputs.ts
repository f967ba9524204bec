/**
 * Output streams: one session, a reporter appending `rate` chunks a second
 * (in batches every 10 ms) for `seconds`, `viewers` streaming it. Checks that
 * every viewer's final text, placed by offset, equals the concatenation of
 * the chunks; measures the server's CPU per chunk and the lines each viewer
 * got. The baseline, in the same run, is what a reporter had to do before
 * output streams: one log line per chunk (and a viewer keeps only the last
 * 1,000 lines, so its text is incomplete by design).
 */
import { appendOutputs, type OutputChunk, type Snapshot } from '../../protocol/index.ts';
import { openStream, type StreamHandle } from '../lib/raw-http.ts';
import { type Row, type ScenarioResult, sleep, waitUntil } from '../lib/report.ts';
import { cpuPercent, ServerProcess } from '../lib/server-process.ts';
import { createSessions, reporterHeaders, viewerHeaders } from '../lib/sessions.ts';

export interface OutputsOptions {
  rate: number;
  seconds: number;
  viewers: number;
}

interface Run {
  chunks: number;
  cpuMicros: number;
  cpuPercent: number;
  linesPerViewer: number;
  exact: number;
  viewers: number;
}

async function runOne(mode: 'output' | 'log', options: OutputsOptions): Promise<Run> {
  const server = await ServerProcess.start({ kind: 'liveop' });
  try {
    const [session] = await createSessions(server.url, 1, { title: 'Answer' });
    const viewers = Array.from({ length: options.viewers }, () => ({
      held: {} as Record<string, OutputChunk>,
      lines: 0,
      ended: false,
      handle: null as StreamHandle | null,
    }));
    for (const viewer of viewers) {
      viewer.handle = openStream(session!.streamUrl, {
        headers: viewerHeaders(session!),
        onLine: (line) => {
          const parsed = JSON.parse(line.toString()) as Snapshot;
          if (parsed.type !== 'snapshot') return;
          viewer.lines += 1;
          viewer.held = appendOutputs(viewer.held, parsed.outputs);
        },
        onEnd: () => {
          viewer.ended = true;
        },
      });
    }
    await Promise.all(viewers.map((v) => v.handle!.status));
    await waitUntil(() => viewers.every((v) => v.lines > 0), 10_000);
    const perBatch = Math.max(1, Math.round(options.rate / 100));
    const sent: string[] = [];
    const before = await server.stats(true);
    const start = performance.now();
    for (let tick = 0; performance.now() - start < options.seconds * 1000; tick++) {
      const texts = Array.from({ length: perBatch }, (_, i) => `c${tick * perBatch + i} `);
      sent.push(...texts);
      const events =
        mode === 'output'
          ? texts.map((text) => ({ type: 'output', stream: 'answer', text }))
          : texts.map((line) => ({ type: 'log', line }));
      const response = await fetch(`${session!.snapshotUrl}/events`, {
        method: 'POST',
        headers: reporterHeaders(session!),
        body: JSON.stringify(events),
      });
      if (response.status !== 200) throw new Error(`events: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
      const due = start + (tick + 1) * 10;
      if (due > performance.now()) await sleep(due - performance.now());
    }
    await fetch(`${session!.snapshotUrl}/events`, {
      method: 'POST',
      headers: reporterHeaders(session!),
      body: JSON.stringify([{ type: 'complete', task: 'main' }]),
    });
    await waitUntil(() => viewers.every((v) => v.ended), 30_000);
    const after = await server.stats();
    const whole = sent.join('');
    const exact = viewers.filter((v) => v.held.answer?.text === whole).length;
    return {
      chunks: sent.length,
      cpuMicros: after.cpuMicros - before.cpuMicros,
      cpuPercent: cpuPercent(before, after),
      linesPerViewer: viewers.reduce((n, v) => n + v.lines, 0) / viewers.length,
      exact,
      viewers: viewers.length,
    };
  } finally {
    await server.stop();
  }
}

export async function runOutputs(options: OutputsOptions, log: (line: string) => void): Promise<ScenarioResult> {
  log(`outputs: ${options.rate} chunks/s for ${options.seconds} s, ${options.viewers} viewers — output streams`);
  const output = await runOne('output', options);
  log('outputs: the same chunks as log lines (the baseline)');
  const baseline = await runOne('log', options);
  const perChunk = (run: Run) => Math.round((run.cpuMicros / run.chunks) * 10) / 10;
  const rows: Row[] = [
    { metric: 'chunks sent', liveop: output.chunks, baseline: baseline.chunks },
    {
      metric: 'viewers whose final text equals the concatenation',
      liveop: `${output.exact} / ${output.viewers}`,
      baseline: 'n/a (a log keeps 1,000 lines)',
      target: `${output.viewers} / ${output.viewers}`,
      met: output.exact === output.viewers,
    },
    { metric: 'server CPU per chunk (µs)', liveop: perChunk(output), baseline: perChunk(baseline), better: 'lower' },
    { metric: 'server CPU (% of a core)', liveop: output.cpuPercent, baseline: baseline.cpuPercent, better: 'lower' },
    { metric: 'lines per viewer', liveop: output.linesPerViewer, baseline: baseline.linesPerViewer, better: 'lower' },
  ];
  return {
    scenario: 'outputs',
    params: { ...options },
    rows,
    notes: [
      'CPU per chunk: the server process’s CPU time from the first post to the last viewer’s end, over the chunks sent.',
    ],
    data: { output, baseline },
  };
}
