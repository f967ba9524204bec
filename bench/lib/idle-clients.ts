/**
 * A client process that holds many idle streams open (a process has at
 * most RLIMIT_NOFILE sockets, so the connections scenario runs several).
 * Told over IPC which streams to open; answers once each has its first line.
 */
import { openStream, type StreamHandle } from './raw-http.ts';

export type ClientCommand =
  | { type: 'open'; streams: { url: string; headers: Record<string, string> }[]; localAddress: string }
  | { type: 'count' }
  | { type: 'close' };

export interface ClientReport {
  type: 'opened' | 'count' | 'closed';
  /** Streams that delivered their first line and are still open. */
  live: number;
  /** Streams that failed to open or ended. */
  failed: number;
  /** Lines received since the start. */
  lines: number;
}

const handles: { handle: StreamHandle; live: boolean; ended: boolean }[] = [];
let lines = 0;
const send = (report: ClientReport) => process.send?.(report);
const counts = () => ({
  live: handles.filter((h) => h.live && !h.ended).length,
  failed: handles.filter((h) => h.ended).length,
  lines,
});

async function open(streams: { url: string; headers: Record<string, string> }[], localAddress: string) {
  const deadline = Date.now() + 120_000;
  for (let i = 0; i < streams.length && Date.now() < deadline; i += 200) {
    const batch = streams.slice(i, i + 200).map(({ url, headers }) => {
      const entry = { handle: null as unknown as StreamHandle, live: false, ended: false };
      return new Promise<void>((resolve) => {
        entry.handle = openStream(url, {
          headers,
          localAddress,
          onLine: () => {
            lines += 1;
            if (!entry.live) {
              entry.live = true;
              resolve();
            }
          },
          onEnd: () => {
            entry.ended = true;
            resolve();
          },
        });
        handles.push(entry);
      });
    });
    // A batch gets at most the time left; a server that stops answering does not hang the bench.
    await Promise.race([Promise.all(batch), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
  }
}

process.on('message', (command: ClientCommand) => {
  switch (command.type) {
    case 'open':
      void open(command.streams, command.localAddress).then(() => send({ type: 'opened', ...counts() }));
      return;
    case 'count':
      send({ type: 'count', ...counts() });
      return;
    case 'close':
      for (const { handle } of handles) handle.close();
      send({ type: 'closed', ...counts() });
      setTimeout(() => process.exit(0), 100);
      return;
    default:
      throw new Error(`unknown command ${JSON.stringify(command satisfies never)}`);
  }
});
process.on('disconnect', () => process.exit(0));
