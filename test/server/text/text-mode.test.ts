import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiveop } from '../../../server/liveop.ts';
import { assertBuilt } from '../../support/built.ts';
import { bearer, post } from '../../support/ndjson-client.ts';
import { startProcess } from '../../support/processes.ts';
import { startServer, type TestServer } from '../../support/server.ts';
import { freePort } from '../../support/spawned-server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

/** The built CLI, what `npx liveop` runs: it starts in a fraction of the time tsx takes to compile the sources. */
const CLI = 'dist/lib/server/cli.js';

/** Runs `liveop …args` to its end. */
async function cli(...args: string[]): Promise<{ code: number | null; out: string }> {
  assertBuilt(CLI, ['server', 'protocol', 'client']);
  const child = startProcess(process.execPath, [CLI, ...args]);
  return { code: await child.exited, out: child.output() };
}

const watch = (url: string, token: string) => cli('watch', url, '--token', token);

describe('text mode', () => {
  it('prints stages as headers, logs once, the result, and exits 0 on completion — following a chain', async () => {
    const a = (await post(`${server.url}/sessions`, { title: 'Step A', tasks: { a: 'Load' }, stages: ['Load'] })).body;
    const b = (await post(`${server.url}/sessions`, { title: 'Step B', tasks: { b: 'Save' } })).body;
    const watching = watch(a.streamUrl, a.viewerToken);
    // The child has started and connected: from here on every line reaches it.
    await expect.poll(() => server.liveop.stats().connections, { timeout: 15_000 }).toBe(1);
    const send = (s: typeof a, events: object[]) => post(`${s.snapshotUrl}/events`, events, bearer(s.reporterToken));
    await send(a, [
      { type: 'stage', name: 'Load' },
      { type: 'log', line: 'read 10 rows' },
      { type: 'percent', task: 'a', value: 55 },
    ]);
    await send(a, [{ type: 'chain', next: b.id, token: b.reporterToken }]);
    await send(b, [
      { type: 'result', data: { saved: 10 } },
      { type: 'complete', task: 'b' },
    ]);
    const { code, out } = await watching;
    expect(code).toBe(0);
    expect(out).toContain('== Load ==');
    expect(out.match(/\| read 10 rows/g)).toHaveLength(1);
    expect(out).toContain(`continues in ${b.id}`);
    expect(out).toContain('Step B');
    expect(out).toMatch(/COMPLETE 100%\n {2}saved: 10/);
  }, 20_000);

  it('exits 1 and prints the error when the session fails', async () => {
    const s = (await post(`${server.url}/sessions`, { title: 'Doomed' })).body;
    await post(`${s.snapshotUrl}/events`, [{ type: 'error', message: 'disk full' }], bearer(s.reporterToken));
    const { code, out } = await watch(s.streamUrl, s.viewerToken);
    expect(code).toBe(1);
    expect(out).toContain('error: disk full');
  }, 20_000);

  it('runs a registered operation in the terminal with runInTerminal', async () => {
    const liveop = createLiveop();
    liveop.operation('count', {
      stages: ['Count'],
      run: async (task) => {
        await task.stage('Count', async () => {
          for await (const n of task.track([1, 2, 3])) task.log(`n=${n}`);
        });
        task.result({ counted: 3 });
      },
    });
    let text = '';
    const last = await liveop.runInTerminal('count', {}, (chunk) => {
      text += chunk;
    });
    await liveop.close();
    expect(last?.status).toBe('complete');
    expect(text).toContain('== Count ==');
    expect(text).toContain('| n=1\n  | n=2\n  | n=3');
    expect(text).toContain('counted: 3');
  });

  it('follows a chain made inside the task, and returns with the last session’s end', async () => {
    const liveop = createLiveop();
    liveop
      .operation('export', {
        title: 'Export',
        run: async (task) => {
          task.log('exported');
          await task.chainTo('upload', { file: 'a.csv' });
        },
      })
      .operation('upload', {
        title: 'Upload',
        run: async (task, input) => task.result(input),
      });
    let text = '';
    const last = await liveop.runInTerminal('export', {}, (chunk) => {
      text += chunk;
    });
    await liveop.close();
    expect(last).toMatchObject({ title: 'Upload', status: 'complete', result: { file: 'a.csv' } });
    expect(text).toMatch(
      /Export \(\S+\)[\s\S]*\| exported[\s\S]*continues in \S+[\s\S]*Upload \(\S+\)[\s\S]*file: a\.csv/,
    );
  });
});

describe('liveop watch, when there is nothing to follow', () => {
  it('says at once that nothing answers at the URL, and why, and exits 1', async () => {
    const port = await freePort();
    const startedAt = Date.now();
    const { code, out } = await cli('watch', `http://127.0.0.1:${port}/sessions/x/stream`);
    expect({ code, out: out.trim() }).toEqual({
      code: 1,
      out: `liveop: no answer from http://127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port})`,
    });
    // Not after five reconnection attempts with backoff (16 s): a server that never answered is not retried.
    expect(Date.now() - startedAt).toBeLessThan(10_000);
  }, 20_000);

  it('exits 3, as its help says, for a session gone before it started', async () => {
    const created = (await post(`${server.url}/sessions`, { title: 'Deleted' })).body;
    await fetch(created.snapshotUrl, { method: 'DELETE' });
    const { code, out } = await watch(created.streamUrl, created.viewerToken);
    expect({ code, out: out.trim() }).toEqual({
      code: 3,
      out: `liveop: the session at ${new URL(created.streamUrl).origin}/sessions/${created.id}/stream is gone (404 not_found: unknown session "${created.id}")`,
    });
  });

  it('says which command it does not know', async () => {
    const { code, out } = await cli('serv');
    expect(code).toBe(64);
    expect(out).toMatch(/^liveop: unknown command "serv"\n\nliveop — live progress/);
  });
});
