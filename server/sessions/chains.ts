/**
 * What viewers need to follow the sessions a batch chains to. A chained
 * session's viewer token goes to every viewer of this session, so the
 * reporter must be able to report to it: the owner's key (any session of the
 * same owner), or, holding only this session's token, the next one's reporter
 * token in `token`.
 */

import { type NextSession, type ProgressEvent, sessionStreamUrl } from '../../protocol/index.ts';
import { LiveopError } from '../core/errors.ts';
import type { StoredSession } from '../core/model.ts';
import { authorize, type Credential } from './access.ts';

export interface ChainContext {
  /** The session the batch is for, read as its reporter. */
  current: () => Promise<StoredSession>;
  get: (id: string) => Promise<StoredSession | undefined>;
  credentialOf: (token: string) => Credential;
  /** The URL prefix for the next sessions' stream URLs, from the current one's. */
  base: (currentBase: string | undefined) => string;
  viewerToken: (id: string) => string;
}

type ChainEvent = Extract<ProgressEvent, { type: 'chain' }>;

/** The next sessions of a batch's `chain` events (at least one), by id. */
export async function resolveChains(
  chains: readonly ChainEvent[],
  as: Credential,
  context: ChainContext,
): Promise<Map<string, NextSession>> {
  const nexts = new Map<string, NextSession>();
  const current = await context.current();
  const prefix = context.base(current.base);
  for (const { next: nextId, token } of chains) {
    const next = await context.get(nextId);
    if (next === undefined) throw new LiveopError('not_found', `next: unknown session "${nextId}"`);
    const nextAs = token === undefined ? as : context.credentialOf(token);
    const mayReport = nextAs.kind !== 'token' || (nextAs.sessionId === nextId && nextAs.scope === 'report');
    if (!mayReport) {
      throw new LiveopError(
        'forbidden',
        token === undefined
          ? "next: this token may report only to its own session; give the next session's reporter token as token"
          : `next: token is not a reporter token for session "${nextId}"`,
      );
    }
    authorize(nextAs, 'report', next);
    if (next.owner !== current.owner) throw new LiveopError('forbidden', 'next: that session belongs to another owner');
    nexts.set(nextId, {
      id: nextId,
      streamUrl: sessionStreamUrl(prefix, nextId),
      viewerToken: context.viewerToken(nextId),
    });
  }
  return nexts;
}
