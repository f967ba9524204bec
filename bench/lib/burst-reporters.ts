/**
 * The burst scenario's reporters, in a process of their own: one keep-alive
 * connection per session, every one posting in the same tick, `hz` times a
 * second. Apart from the viewers so an answer's time is the server's, not
 * the time the load generator took to read 5,000 lines that arrived first.
 *
 * Times are on the machine's monotonic clock (`clock()`, the same in every
 * process), so the parent compares them with when its viewers got the lines.
 */
import { RawConnection, requestBytes, type Target } from './raw-http.ts';

/** Milliseconds on the monotonic clock every process on this machine shares. */
export const clock = (): number => Number(process.hrtime.bigint()) / 1e6;

export interface ReportersCommand {
  type: 'run';
  target: Target;
  requests: { url: string; headers: Record<string, string> }[];
  hz: number;
  /** When the first burst goes, the measured window starts and the last burst is due (clock()). */
  startAt: number;
  measureFrom: number;
  endAt: number;
}

export interface ReportersReport {
  type: 'done';
  /** Per session, by version: when the post that made it was sent (null: not sent). */
  sentAt: (number | null)[][];
  /** Per session: the last version the server accepted. */
  postedBy: number[];
  /** Answer times (µs) of the posts sent in the measured window. */
  answerMicros: number[];
  posted: number;
  errors: number;
  /** Bursts in which a reporter still waited for its last answer, so it sent nothing. */
  skipped: number;
}

/** One report: steps and a message, one batch (one new version). */
export function burstEvents(done: number): string {
  return (
    `[{"type":"steps","task":"import","done":${done},"total":1000000},` +
    `{"type":"message","task":"import","text":"Imported ${done} of 1,000,000 products"}]`
  );
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function run(command: ReportersCommand): Promise<ReportersReport> {
  const { requests, hz, startAt, measureFrom, endAt } = command;
  const connections = requests.map(() => new RawConnection(command.target));
  await Promise.all(connections.map((c) => c.ready));
  const sentAt = requests.map((): (number | null)[] => [null, null]);
  const postedBy = requests.map(() => 1);
  const version = requests.map(() => 1);
  const busy = requests.map(() => false);
  const answerMicros: number[] = [];
  let posted = 0;
  let errors = 0;
  let skipped = 0;
  /** The next post of each session, made before the burst so the burst is only writes. */
  const next = requests.map(({ url, headers }, s) => requestBytes('POST', url, headers, burstEvents(version[s]!)));
  const burst = () => {
    for (let s = 0; s < requests.length; s++) {
      if (busy[s]) {
        skipped += 1;
        continue;
      }
      const v = version[s]! + 1;
      version[s] = v;
      busy[s] = true;
      // Each post's own send time: the ones late in this loop are not charged for the loop.
      const sent = clock();
      sentAt[s]![v] = sent;
      connections[s]!.request(next[s]!).then(
        (answer) => {
          busy[s] = false;
          if (sent >= measureFrom) answerMicros.push(Math.max(1, Math.round((clock() - sent) * 1000)));
          if (answer.status !== 200) errors += 1;
          else {
            posted += 1;
            postedBy[s] = Math.max(postedBy[s]!, v);
          }
          const { url, headers } = requests[s]!;
          next[s] = requestBytes('POST', url, headers, burstEvents(v));
        },
        () => {
          errors += 1;
        },
      );
    }
  };
  for (let k = 0; ; k++) {
    const at = startAt + (k * 1000) / hz;
    if (at >= endAt) break;
    const wait = at - clock();
    if (wait > 0) await sleep(wait);
    burst();
  }
  // The last answers (a saturated server may take long: 10 s at most).
  const until = clock() + 10_000;
  while (busy.some(Boolean) && clock() < until) await sleep(20);
  for (const c of connections) c.close();
  return { type: 'done', sentAt, postedBy, answerMicros, posted, errors, skipped };
}

// Started by the burst scenario (forkTs, BENCH_REPORTERS=1); imported elsewhere for clock() and burstEvents().
if (process.env.BENCH_REPORTERS === '1') {
  process.on('message', (command: ReportersCommand) => {
    void run(command).then((report) => process.send?.(report));
  });
  process.on('disconnect', () => process.exit(0));
}
