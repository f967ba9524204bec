/**
 * Setup through the contract: create sessions (`POST /sessions`), and the
 * event body a reporter sends.
 */
import type { CreatedSession } from '../../protocol/index.ts';

/** What a bench session looks like: a realistic three-task import. */
export const SESSION_BODY = {
  title: 'Nightly import',
  tasks: { import: 'Import products', prices: 'Fetch prices', report: 'Write the report' },
};

/** One progress report: `steps` on the first task (a new version, a visible change). */
export function stepsEvent(done: number): string {
  return `[{"type":"steps","task":"import","done":${done},"total":1000000}]`;
}

export async function createSessions(baseUrl: string, count: number, body: object = SESSION_BODY) {
  const created: CreatedSession[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, async () => {
        const response = await fetch(`${baseUrl}/sessions`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (response.status !== 201) throw new Error(`POST /sessions: ${response.status} ${await response.text()}`);
        return (await response.json()) as CreatedSession;
      }),
    );
    created.push(...batch);
  }
  return created;
}

/** Headers of a reporter's event post. */
export function reporterHeaders(session: CreatedSession): Record<string, string> {
  return { 'Content-Type': 'application/json', Authorization: `Bearer ${session.reporterToken}` };
}

/** Headers of a viewer's stream request. */
export function viewerHeaders(session: CreatedSession): Record<string, string> {
  return { Authorization: `Bearer ${session.viewerToken}` };
}
