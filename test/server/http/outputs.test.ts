import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendOutputs,
  type CreatedSession,
  LIMITS,
  type OutputChunk,
  type Snapshot,
} from '../../../protocol/index.ts';
import { bearer, openStream, post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ heartbeatMs: 300 });
});
afterAll(() => server.close());

async function create(): Promise<CreatedSession> {
  const { status, body } = await post(`${server.url}/sessions`, { title: 'Answer', tasks: { a: 'Answer' } });
  expect(status).toBe(201);
  return body;
}
const events = (s: CreatedSession, list: object[]) => post(`${s.snapshotUrl}/events`, list, bearer(s.reporterToken));
const read = async (s: CreatedSession): Promise<Snapshot> =>
  (await fetch(s.snapshotUrl, { headers: bearer(s.viewerToken) })).json();

/** 200 chunks, `chunk 0 … chunk 199 `, in 20 batches of 10. */
const chunks = Array.from({ length: 200 }, (_, i) => `chunk ${i} `);
const whole = chunks.join('');
async function post200(s: CreatedSession): Promise<void> {
  for (let batch = 0; batch < 20; batch++) {
    const list = chunks.slice(batch * 10, batch * 10 + 10).map((text) => ({ type: 'output', stream: 'answer', text }));
    expect((await events(s, list)).status).toBe(200);
  }
}

/** The text a reader of these lines has once it places each chunk at its offset, and each chunk as sent. */
function received(lines: readonly Snapshot[]): { text: string; sent: OutputChunk[] } {
  let held: Record<string, OutputChunk> = {};
  const sent: OutputChunk[] = [];
  for (const line of lines) {
    if (line.outputs?.answer) sent.push(line.outputs.answer);
    held = appendOutputs(held, line.outputs);
  }
  return { text: held.answer?.text ?? '', sent };
}

describe('output streams over HTTP', () => {
  it('gives a late reader the whole text in order, from a read and from a stream', async () => {
    const s = await create();
    await post200(s);
    const snapshot = await read(s);
    expect(snapshot.outputs).toEqual({ answer: { offset: 0, text: whole } });
    const late = await openStream(s.streamUrl);
    const first = (await late.waitFor((l) => l.type === 'snapshot')) as Snapshot;
    late.close();
    expect(first.outputs).toEqual({ answer: { offset: 0, text: whole } });
  });

  it('sends a live viewer each chunk once, each line carrying what is new since the last', async () => {
    const s = await create();
    const live = await openStream(s.streamUrl);
    await live.waitFor((l) => l.type === 'snapshot');
    await post200(s);
    await events(s, [{ type: 'complete', task: 'a' }]);
    await live.ended;
    const { text, sent } = received(live.snapshots());
    expect(text).toBe(whole);
    // Without placing by offset: the lines' texts, one after another, are the text — no chunk twice.
    expect(sent.map((c) => c.text).join('')).toBe(whole);
    let end = 0;
    for (const chunk of sent) {
      expect(chunk.offset).toBe(end);
      end += chunk.text!.length;
    }
  });

  it('resumes after a version without repeating a chunk', async () => {
    const s = await create();
    await events(s, [{ type: 'output', stream: 'answer', text: 'Hello, ' }]);
    const first = await openStream(s.streamUrl);
    const seen = (await first.waitFor((l) => l.type === 'snapshot' && l.version === 2)) as Snapshot;
    first.close();
    expect(seen.outputs).toEqual({ answer: { offset: 0, text: 'Hello, ' } });
    await post200(s);
    const resumed = await openStream(`${s.streamUrl}?after=${seen.version}`);
    const next = (await resumed.waitFor((l) => l.type === 'snapshot')) as Snapshot;
    resumed.close();
    expect(next.outputs).toEqual({ answer: { offset: 'Hello, '.length, text: whole } });
    // And a resume at the latest version has nothing to send of the stream.
    const caughtUp = await openStream(`${s.streamUrl}?after=${next.version}`);
    const same = (await caughtUp.waitFor((l) => l.type === 'snapshot')) as Snapshot;
    caughtUp.close();
    expect(same.outputs).toBeUndefined();
  });

  it('keeps a stream within its bound, dropping the oldest text and saying how much', async () => {
    const s = await create();
    const block = 'x'.repeat(LIMITS.outputLength / 4 - 1);
    for (let i = 0; i < 5; i++) await events(s, [{ type: 'output', stream: 'answer', text: `${i}${block}` }]);
    const answer = (await read(s)).outputs!.answer!;
    expect(answer.text).toHaveLength(LIMITS.outputLength);
    expect(answer.dropped).toBe(LIMITS.outputLength / 4);
    expect(answer.offset).toBe(answer.dropped);
    expect(answer.text!.startsWith(`1${block}`)).toBe(true);
  });

  it('holds JSON chunks in a data stream, and refuses text in it naming the field', async () => {
    const s = await create();
    await events(s, [
      { type: 'output', stream: 'rows', data: { sku: 'A-1', qty: 3 } },
      { type: 'output', stream: 'rows', data: [1, 2] },
    ]);
    expect((await read(s)).outputs).toEqual({ rows: { offset: 0, data: [{ sku: 'A-1', qty: 3 }, [1, 2]] } });
    const refused = await events(s, [{ type: 'output', stream: 'rows', text: 'no' }]);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/^text: stream "rows" holds data/);
    const both = await events(s, [{ type: 'output', stream: 'rows', text: 'a', data: 1 }]);
    expect(both.status).toBe(400);
    expect(both.body.error.message).toMatch(/text: give exactly one of text or data/);
  });
});

describe('structured log entries', () => {
  it('reads a log entry back with its data', async () => {
    const s = await create();
    const data = { sku: 'A-1', url: 'https://example.com/a-1', name: '<img src=x onerror=alert(1)>' };
    expect((await events(s, [{ type: 'log', line: 'Imported A-1', data }])).status).toBe(200);
    const logs = (await read(s)).logs;
    expect(logs).toMatchObject([{ seq: 1, line: 'Imported A-1', data }]);
  });

  it('refuses oversized data with a 400 naming the field, and changes nothing', async () => {
    const s = await create();
    const data = { blob: 'x'.repeat(LIMITS.dataLength) };
    const refused = await events(s, [
      { type: 'log', line: 'fine' },
      { type: 'log', line: 'too big', data },
    ]);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/^events\.1\.data: is \d+ characters as JSON; at most 8192/);
    expect((await read(s)).logs).toEqual([]);
  });
});
