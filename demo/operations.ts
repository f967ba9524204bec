/**
 * The demo's registered operations: they run on whichever runner the server
 * has (in its own process by default; `LIVEOP_RUNNER=bullmq` and `npm run
 * worker` run them on workers). The module's default export registers them,
 * as a `LIVEOP_OPERATIONS` module's must: `npm start` and `npm run worker`
 * (demo/main.ts, demo/worker.ts) pass it to the server and the worker.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Liveop } from '../server/liveop.ts';

/** What the demo's answer says, a word at a time (an LLM's answer would come token by token). */
const ANSWER =
  'Liveop keeps a progress session per job and streams it to every page that watches it. ' +
  'Output streams like this one carry text that arrives in pieces: each viewer gets what is new ' +
  'once per tick, and one who arrives late gets the whole text so far.';

/** Items the answer cites: log entries with data, rendered by the page's own template. */
const SOURCES = [
  { title: 'The wire protocol', url: 'https://example.com/liveop/protocol' },
  { title: 'The element', url: 'https://example.com/liveop/element' },
];

export default function registerDemoOperations(liveop: Liveop): void {
  liveop.operation('demo-import', {
    input: z.object({
      rows: z.number().int().min(1).max(10_000),
      msPerRow: z.number().int().min(0).max(5_000).optional(),
    }),
    title: ({ rows }) => `Import ${rows.toLocaleString('en')} rows`,
    tasks: { import: 'Import rows' },
    attempts: 2,
    run: async (task, { rows, msPerRow = 50 }) => {
      const numbers = Array.from({ length: rows }, (_, i) => i + 1);
      for await (const row of task.track(numbers, { label: 'Importing', unit: 'rows' })) {
        await sleep(msPerRow, undefined, { signal: task.signal });
        if (row % 10 === 0) task.log(`row ${row} imported`);
      }
      task.result({ imported: rows });
    },
  });

  liveop.operation('demo-answer', {
    title: 'An answer, streamed word by word',
    tasks: { answer: 'Write the answer' },
    run: async (task) => {
      const words = ANSWER.split(/(?<= )/);
      for (const [i, word] of words.entries()) {
        await sleep(60, undefined, { signal: task.signal });
        task.output('answer', word);
        task.percent(((i + 1) / words.length) * 100);
      }
      for (const source of SOURCES) task.item(`source: ${source.title}`, source);
      task.result({ words: words.length, sources: SOURCES.length });
    },
  });

  liveop.operation('demo-flaky', {
    title: 'A flaky job (fails twice, then works)',
    tasks: { fetch: 'Fetch the report' },
    attempts: 3,
    backoff: { type: 'fixed', delayMs: 1_000 },
    run: async (task) => {
      task.log(`attempt ${task.attempt} started`);
      for (let p = 0; p <= 60; p += 20) {
        task.percent(p);
        await sleep(300, undefined, { signal: task.signal });
      }
      if (task.attempt < 3) throw new Error(`the report service timed out (attempt ${task.attempt})`);
      task.percent(100);
      task.result({ pages: 12 });
    },
  });

  liveop.operation('demo-chain', {
    title: 'Step 1 of 2: export',
    tasks: { export: 'Export the orders' },
    run: async (task) => {
      for (let p = 0; p <= 100; p += 25) {
        task.percent(p);
        await sleep(400, undefined, { signal: task.signal });
      }
      task.log('orders.csv written');
      await task.chainTo('demo-chain-upload', { file: 'orders.csv' });
    },
  });

  liveop.operation('demo-chain-upload', {
    input: z.object({ file: z.string().max(100) }),
    title: ({ file }) => `Step 2 of 2: upload ${file}`,
    tasks: { upload: 'Upload to the warehouse' },
    run: async (task, { file }) => {
      for (let p = 0; p <= 100; p += 20) {
        task.percent(p);
        await sleep(300, undefined, { signal: task.signal });
      }
      task.result({ uploaded: file });
    },
  });
}
