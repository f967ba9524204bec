/**
 * The work: reporters through liveop/client (and the Python package's
 * Reporter in a child process), each running sessions one after another and
 * logging numbered lines; and operations started with `POST /operations`
 * that the BullMQ workers run. Each records what the server acknowledged.
 */
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createClient, type RemoteSession } from '../../client/index.ts';
import { startProcess } from '../support/processes.ts';
import type { Random } from './random.ts';

/** Retries enough to outlast the faults (a restart takes seconds), quick enough to notice them. */
export const CLIENT_RETRY = { attempts: 30, baseDelayMs: 100, maxDelayMs: 2_000 };
export const CLIENT_TIMEOUT_MS = 5_000;

export interface SentLine {
  text: string;
  /** acked: a flush() resolved after it was sent; unknown: its batch got no answer it could trust. */
  state: 'pending' | 'acked' | 'unknown';
}

export interface ReportedSession {
  id: string;
  viewerToken: string;
  by: string;
  kind: 'reporter' | 'python' | 'operation';
  lines: SentLine[];
  /** What the reporter knows of its end: `complete` acknowledged, or not known. */
  completion: 'acked' | 'unknown' | 'none';
  startedAt: number;
}

export type OnSession = (session: ReportedSession) => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function settle(lines: SentLine[], state: 'acked' | 'unknown'): void {
  for (const line of lines) if (line.state === 'pending') line.state = state;
}

/** A liveop/client reporter: sessions of 40–160 lines, a flush every few lines, until `stop` aborts. */
export async function runReporter(
  baseUrl: string,
  name: string,
  random: Random,
  stop: AbortSignal,
  onSession: OnSession,
  problems: string[],
): Promise<void> {
  const client = createClient({ baseUrl, retry: CLIENT_RETRY, timeoutMs: CLIENT_TIMEOUT_MS, flushIntervalMs: 100 });
  for (let n = 1; !stop.aborted; n++) {
    let remote: RemoteSession;
    try {
      remote = await client.createSession({ title: `${name} #${n}`, tasks: { work: 'Work' } });
    } catch {
      // Creating is not retried once the request may have reached the server: start another.
      await sleep(200);
      continue;
    }
    const session: ReportedSession = {
      id: remote.id,
      viewerToken: remote.viewerToken!,
      by: name,
      kind: 'reporter',
      lines: [],
      completion: 'none',
      startedAt: Date.now(),
    };
    onSession(session);
    const total = random.int(40, 160);
    for (let i = 1; i <= total; i++) {
      const line: SentLine = { text: `${name}.${n} line ${i}`, state: 'pending' };
      session.lines.push(line);
      remote.log(line.text);
      if (i % 5 === 0) remote.steps('work', i, total);
      if (i % random.int(3, 12) === 0 || i === total) {
        await remote.flush().then(
          () => settle(session.lines, 'acked'),
          () => settle(session.lines, 'unknown'),
        );
      }
      await sleep(random.int(10, 60));
    }
    remote.result({ lines: total });
    remote.complete('work');
    session.completion = await remote.close().then(
      () => 'acked' as const,
      () => 'unknown' as const,
    );
    settle(session.lines, session.completion);
    // A completion that got no answer is sent again, as a careful worker would: a 409 then says it had arrived.
    for (let tries = 0; session.completion === 'unknown' && tries < 5; tries++) {
      const again = client.session(session.id);
      again.complete('work');
      await again.close().then(
        () => (session.completion = 'acked'),
        (error: { status?: number | null }) => {
          if (error.status === 409) session.completion = 'acked';
        },
      );
    }
    if (session.completion !== 'acked') problems.push(`${session.id} (${name}): completion never acknowledged`);
  }
}

const PYTHON = '/usr/bin/python3';

/** The Python package's Reporter in a child process (python-reporter.py) until `untilMs`, when Python is there. */
export function runPythonReporter(
  baseUrl: string,
  untilMs: number,
  seed: number,
  onSession: OnSession,
  problems: string[],
): { done: Promise<void>; stop(): void } {
  if (!existsSync(PYTHON)) return { done: Promise.resolve(), stop: () => {} };
  const child = startProcess(
    PYTHON,
    [new URL('./python-reporter.py', import.meta.url).pathname, baseUrl, String(untilMs / 1000), String(seed)],
    { env: { PYTHONPATH: new URL('../../clients/python/src', import.meta.url).pathname } },
  );
  const sessions = new Map<string, ReportedSession>();
  createInterface({ input: child.child.stdout! }).on('line', (text) => {
    const note = JSON.parse(text) as {
      event: 'created' | 'acked' | 'unknown' | 'completed';
      id: string;
      viewerToken?: string;
      lines?: string[];
      acked?: boolean;
    };
    if (note.event === 'created') {
      const session: ReportedSession = {
        id: note.id,
        viewerToken: note.viewerToken!,
        by: 'python',
        kind: 'python',
        lines: [],
        completion: 'none',
        startedAt: Date.now(),
      };
      sessions.set(note.id, session);
      onSession(session);
      return;
    }
    const session = sessions.get(note.id)!;
    if (note.event === 'completed') {
      session.completion = note.acked ? 'acked' : 'unknown';
      if (!note.acked) problems.push(`${note.id} (python): completion never acknowledged`);
    } else for (const line of note.lines ?? []) session.lines.push({ text: line, state: note.event });
  });
  const done = child.exited.then((code) => {
    if (code !== 0) problems.push(`the Python reporter exited with ${code}: ${child.errors().slice(-500)}`);
  });
  return { done, stop: () => child.stop('SIGKILL') };
}

/** Starts demo-import operations (run by the BullMQ workers) now and then, until `stop` aborts. */
export async function runOperations(
  baseUrl: string,
  random: Random,
  stop: AbortSignal,
  onSession: OnSession,
): Promise<void> {
  while (!stop.aborted) {
    const rows = random.int(20, 60);
    try {
      const response = await fetch(`${baseUrl}/operations/demo-import`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ rows, msPerRow: 50 }),
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      });
      if (response.status === 201) {
        const created = (await response.json()) as { id: string; viewerToken: string };
        onSession({
          id: created.id,
          viewerToken: created.viewerToken,
          by: 'operations',
          kind: 'operation',
          lines: [],
          completion: 'none',
          startedAt: Date.now(),
        });
      }
    } catch {
      // No answer: it may or may not have started; only acknowledged ones are checked.
    }
    await sleep(random.int(1_000, 4_000));
  }
}
