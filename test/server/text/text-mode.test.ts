import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiveop } from '../../../server/liveop.ts';
import { bearer, post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

function watch(url: string, token: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/cli.ts', 'watch', url, '--token', token], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('text mode', () => {
  it('prints stages as headers, logs once, the result, and exits 0 on completion — following a chain', async () => {
    const a = (await post(`${server.url}/sessions`, { title: 'Step A', tasks: { a: 'Load' }, stages: ['Load'] })).body;
    const b = (await post(`${server.url}/sessions`, { title: 'Step B', tasks: { b: 'Save' } })).body;
    const watching = watch(a.streamUrl, a.viewerToken);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // the child starts and connects
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
