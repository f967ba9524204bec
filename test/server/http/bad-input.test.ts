import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedSession, Snapshot } from '../../../protocol/index.ts';
import { TokenSigner } from '../../../server/sessions/access.ts';
import { bearer, post } from '../../support/ndjson-client.ts';
import { startServer, type TestServer } from '../../support/server.ts';

const ANN = 'ann-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';
const ADMIN = 'admin-key-0123456789abcdef';

const SECRET = 'bad-input-secret-0123456789abcdef';
/** Signs as the server does: tokens no client could get from it (expired, view-only for another owner's session). */
const signer = new TokenSigner(SECRET);

let server: TestServer;
beforeAll(async () => {
  server = await startServer({
    secret: SECRET,
    apiKeys: { [ANN]: { owner: 'ann' }, [BOB]: { owner: 'bob' }, [ADMIN]: { owner: 'ops', admin: true } },
  });
});
afterAll(() => server.close());

async function annSession(): Promise<CreatedSession> {
  const { status, body } = await post(`${server.url}/sessions`, { title: 'T', tasks: { a: 'A' } }, bearer(ANN));
  expect(status).toBe(201);
  await post(`${body.snapshotUrl}/events`, [{ type: 'percent', task: 'a', value: 10 }], bearer(ANN));
  return body;
}
const snapshot = async (s: CreatedSession): Promise<Snapshot> =>
  (await fetch(s.snapshotUrl, { headers: bearer(ANN) })).json();

/** Sends a bad request and checks the contract's error answer, and that the session did not change. */
async function refused(
  s: CreatedSession,
  request: { body: string; headers?: Record<string, string>; path?: string },
  status: number,
  code: string,
  message?: RegExp,
) {
  const before = await snapshot(s);
  const response = await fetch(`${s.snapshotUrl}${request.path ?? '/events'}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...bearer(s.reporterToken), ...request.headers },
    body: request.body,
  });
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = await response.json();
  expect(body).toEqual({ error: { code, message: expect.any(String) } });
  if (message) expect(body.error.message).toMatch(message);
  const after = await snapshot(s);
  expect(after.version).toBe(before.version);
  expect(after.logs).toEqual(before.logs);
  expect(after.tasks.map((t) => t.status)).toEqual(before.tasks.map((t) => t.status));
}

describe('bad input is refused with the contract’s error and changes nothing', () => {
  it('malformed JSON → 400', async () => {
    await refused(await annSession(), { body: '[{"type":' }, 400, 'invalid_body', /not valid JSON/);
  });

  it('wrong types → 400 naming the field', async () => {
    const s = await annSession();
    await refused(
      s,
      { body: JSON.stringify([{ type: 'percent', task: 'a', value: 'ten' }]) },
      400,
      'invalid_body',
      /events\.0\.value/,
    );
    await refused(s, { body: JSON.stringify([{ type: 'teleport' }]) }, 400, 'invalid_body', /events\.0\.type/);
    await refused(s, { body: JSON.stringify({ nope: 1 }) }, 400, 'invalid_body');
  });

  it('a percent of 250 → 400, even behind a good event in the same batch', async () => {
    const body = JSON.stringify([
      { type: 'log', line: 'would be lost' },
      { type: 'percent', task: 'a', value: 250 },
    ]);
    await refused(await annSession(), { body }, 400, 'invalid_body', /events\.1\.value/);
  });

  it('an unknown task → 404, and the good events before it are not applied', async () => {
    const body = JSON.stringify([
      { type: 'log', line: 'would be lost' },
      { type: 'percent', task: 'ghost', value: 5 },
    ]);
    await refused(await annSession(), { body }, 404, 'not_found', /unknown task "ghost"/);
  });

  it('a 10 MB body → 413', async () => {
    const line = 'x'.repeat(1_000);
    const body = JSON.stringify(Array.from({ length: 10_000 }, () => ({ type: 'log', line })));
    await refused(await annSession(), { body }, 413, 'body_too_large');
  });

  it('a body that is neither JSON nor NDJSON → 415', async () => {
    await refused(
      await annSession(),
      { body: 'a=1', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
      415,
      'unsupported_media_type',
    );
  });

  it('a bad NDJSON line → 400 naming the line', async () => {
    const body = '{"type":"log","line":"ok"}\n{oops}\n';
    await refused(
      await annSession(),
      { body, headers: { 'Content-Type': 'application/x-ndjson' } },
      400,
      'invalid_body',
      /line 2/,
    );
  });

  it('events after completion → 409', async () => {
    const s = await annSession();
    await post(`${s.snapshotUrl}/events`, [{ type: 'complete', task: 'a' }], bearer(ANN));
    await refused(s, { body: JSON.stringify([{ type: 'log', line: 'late' }]) }, 409, 'conflict', /already ended/);
  });

  it('a wrong token → 401; an expired token → 401', async () => {
    const s = await annSession();
    const forged = `${s.reporterToken.split('.')[0]}.AAAA`;
    await refused(s, { body: '[]', headers: bearer(forged) }, 401, 'unauthorized', /signature/);
    const expired = signer.sign(s.id, 'report', -5);
    await refused(s, { body: '[]', headers: bearer(expired) }, 401, 'unauthorized', /expired/);
    await refused(s, { body: '[]', headers: bearer('no-such-key-at-all') }, 401, 'unauthorized');
  });

  it('a view token cannot report; another session’s token cannot touch this one → 403', async () => {
    const s = await annSession();
    const other = await annSession();
    const body = JSON.stringify([{ type: 'log', line: 'x' }]);
    await refused(s, { body, headers: bearer(s.viewerToken) }, 403, 'forbidden', /scope/);
    await refused(s, { body, headers: bearer(other.reporterToken) }, 403, 'forbidden', /another session/);
  });

  it('another owner’s session → 403 for their key, while an admin key may', async () => {
    const s = await annSession();
    await refused(
      s,
      { body: JSON.stringify([{ type: 'log', line: 'x' }]), headers: bearer(BOB) },
      403,
      'forbidden',
      /another owner/,
    );
    expect((await fetch(s.snapshotUrl, { headers: bearer(BOB) })).status).toBe(403);
    expect((await fetch(s.snapshotUrl, { headers: bearer(ADMIN) })).status).toBe(200);
  });

  it('no credential at all → 401 when keys are configured', async () => {
    const s = await annSession();
    const response = await fetch(s.snapshotUrl);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it('bad create bodies → 400 naming the field; unknown routes and sessions → 404', async () => {
    const bad = await post(`${server.url}/sessions`, { tasks: [{ id: 'has space', name: 'x' }] }, bearer(ANN));
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'invalid_body' } } });
    expect(bad.body.error.message).toMatch(/^tasks/);
    const twice = await post(
      `${server.url}/sessions`,
      {
        tasks: [
          { id: 'a', name: 'x' },
          { id: 'a', name: 'y' },
        ],
      },
      bearer(ANN),
    );
    expect(twice).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/appears twice/) } } });
    const missing = await fetch(`${server.url}/sessions/doesnotexist`, { headers: bearer(ANN) });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
  });

  it('another owner cannot be named on create except by an admin', async () => {
    const as = await post(`${server.url}/sessions`, { tasks: { a: 'A' }, owner: 'bob' }, bearer(ANN));
    expect(as.status).toBe(403);
    const admin = await post(`${server.url}/sessions`, { tasks: { a: 'A' }, owner: 'bob' }, bearer(ADMIN));
    expect(admin.status).toBe(201);
    expect((await fetch(admin.body.snapshotUrl, { headers: bearer(BOB) })).status).toBe(200);
  });
});

describe('listing and owning sessions', () => {
  it('lists the caller’s sessions newest first, page by page; an admin sees everyone’s', async () => {
    const mine = [];
    for (let i = 0; i < 3; i++) {
      mine.push((await post(`${server.url}/sessions`, { title: `bob ${i}` }, bearer(BOB))).body.id);
      await new Promise((resolve) => setTimeout(resolve, 3)); // newest first: a millisecond apart at least (ties go by id)
    }
    const page = await (await fetch(`${server.url}/sessions?limit=2`, { headers: bearer(BOB) })).json();
    expect(page.sessions.map((s: Snapshot) => s.id)).toEqual([mine[2], mine[1]]);
    const next = await (
      await fetch(`${server.url}/sessions?limit=2&cursor=${page.cursor}`, { headers: bearer(BOB) })
    ).json();
    expect(next.sessions.map((s: Snapshot) => s.id)).toContain(mine[0]);
    const all = await (await fetch(`${server.url}/sessions?limit=100`, { headers: bearer(ADMIN) })).json();
    expect(new Set(all.sessions.map((s: { owner: string }) => s.owner))).toEqual(new Set(['ann', 'bob']));
    const asToken = await fetch(`${server.url}/sessions`, {
      headers: bearer(signer.sign(mine[0], 'view', 60)),
    });
    expect(asToken.status).toBe(403);
  });

  it('cancel: a view token may not, a view+cancel token may; the reporter hears it on its next events answer', async () => {
    const s = await annSession();
    const viewOnly = signer.sign(s.id, 'view', 60);
    expect((await fetch(`${s.snapshotUrl}/cancel`, { method: 'POST', headers: bearer(viewOnly) })).status).toBe(403);
    const viewAndCancel = signer.sign(s.id, 'view+cancel', 60);
    const cancel = await fetch(`${s.snapshotUrl}/cancel`, { method: 'POST', headers: bearer(viewAndCancel) });
    expect(cancel.status).toBe(202);
    const answer = await post(
      `${s.snapshotUrl}/events`,
      [{ type: 'percent', task: 'a', value: 20 }],
      bearer(s.reporterToken),
    );
    expect(answer.body).toMatchObject({ cancelRequested: true });
    await post(`${s.snapshotUrl}/events`, [{ type: 'cancelled' }], bearer(s.reporterToken));
    expect((await snapshot(s)).status).toBe('cancelled');
  });
});
