/**
 * Parents: the server's CPU per child event when the child has a parent
 * (its change counted in the parent, whose viewers are sent each change)
 * against the same events to sessions without one, in the same run and
 * process. In-process through the HTTP app (`app.request()`: no sockets, so
 * the figure is the server's own work), on the memory store. Reporters post
 * one `percent` event a child in rounds, spread over the children as a 2 Hz
 * fleet's posts are; viewers watch the parent through the hub (`watch()`).
 * Checked: every viewer ends on the parent's last version.
 */
import { cpuUsage } from 'node:process';
import type { CreatedSession, Snapshot } from '../../protocol/index.ts';
import { createLiveop } from '../../server/liveop.ts';
import type { Row, ScenarioResult } from '../lib/report.ts';

export interface ParentsOptions {
  children: number;
  viewers: number;
  /** Events each child posts. */
  rounds: number;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

export async function runParents(o: ParentsOptions, log: (line: string) => void): Promise<ScenarioResult> {
  const liveop = createLiveop({ rateLimits: false, caps: { sessionsPerOwner: 1_000_000 } });
  const app = liveop.routes();
  const post = async (path: string, body: unknown, token?: string) => {
    const headers = token ? { ...JSON_HEADERS, Authorization: `Bearer ${token}` } : JSON_HEADERS;
    const answer = await app.request(path, { method: 'POST', headers, body: JSON.stringify(body) });
    if (!answer.ok) throw new Error(`${path}: ${answer.status} ${await answer.text()}`);
    return answer.json() as Promise<CreatedSession>;
  };
  // No socket holds the process open here, and the hub's timers do not: this does, as a listening server would.
  const alive = setInterval(() => {}, 1_000);
  try {
    const parent = await post('/sessions', { title: 'Batch', expectedChildren: o.children });
    const children: CreatedSession[] = [];
    const plain: CreatedSession[] = [];
    for (let i = 0; i < o.children; i++) {
      children.push(await post('/sessions', { title: `Child ${i}`, parent: parent.id }, parent.reporterToken));
      plain.push(await post('/sessions', { title: `Plain ${i}` }));
    }
    log(`  ${o.children} children and ${o.children} sessions without a parent created`);
    const controller = new AbortController();
    const seen = new Array<number>(o.viewers).fill(0);
    const watching = Array.from({ length: o.viewers }, async (_, v) => {
      for await (const snapshot of liveop.watch(parent.id, { signal: controller.signal }) as AsyncIterable<Snapshot>) {
        seen[v] = snapshot.version;
      }
    });

    const cpuPerEvent = async (sessions: CreatedSession[]) => {
      const start = cpuUsage();
      let events = 0;
      for (let round = 1; round <= o.rounds; round++) {
        const value = Math.min(90, round * (90 / o.rounds));
        for (const s of sessions) {
          await post(`/sessions/${s.id}/events`, [{ type: 'percent', task: 'main', value }], s.reporterToken);
          events += 1;
        }
      }
      const used = cpuUsage(start);
      return (used.user + used.system) / events;
    };
    // Interleaved, twice each, so neither side has the warm-up to itself.
    const plainUs = [await cpuPerEvent(plain)];
    const childUs = [await cpuPerEvent(children)];
    plainUs.push(await cpuPerEvent(plain));
    childUs.push(await cpuPerEvent(children));
    const final = ((await (await app.request(`/sessions/${parent.id}`)).json()) as Snapshot).version;
    const deadline = Date.now() + 5_000;
    while (seen.some((v) => v < final) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const delivered = seen.filter((v) => v >= final).length;
    controller.abort();
    await Promise.race([Promise.allSettled(watching), new Promise((r) => setTimeout(r, 1_000))]);
    const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const child = median(childUs);
    const without = median(plainUs);
    const rows: Row[] = [
      { metric: 'CPU per child event (µs)', liveop: Math.round(child), baseline: Math.round(without) },
      { metric: 'child ÷ without a parent', liveop: Number((child / without).toFixed(2)), baseline: 1 },
      { metric: `viewers of the parent on its last version (of ${o.viewers})`, liveop: delivered },
    ];
    return {
      scenario: 'parents',
      params: { ...o },
      rows,
      notes: [
        '"baseline" here is the same event to a session without a parent, in the same process and run.',
        `parent's last version ${final}; ${o.children * o.rounds * 2} child events in all.`,
      ],
      data: { childUs, plainUs, final, seen },
    };
  } finally {
    clearInterval(alive);
    await liveop.close();
  }
}
