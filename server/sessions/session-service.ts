/**
 * One way to change a session. The HTTP routes, the in-process API and the
 * runners all come here to create, report, cancel, delete, mint tokens and
 * start or restart operations: validation, access checks, chain resolution
 * and the created-session answer are written once. It throws LiveopError
 * (kinds, not statuses); the HTTP layer maps them to the contract.
 */
import { randomBytes } from 'node:crypto';
import {
  type CreatedSession,
  type CreateSessionInput,
  type EventsAccepted,
  type NextSession,
  type ProgressEvent,
  sessionStreamUrl,
  sessionUrl,
  type TokenScope,
  type VisitorSession,
} from '../../protocol/index.ts';
import { LiveopError } from '../core/errors.ts';
import { filters, type ListQuery, matches } from '../core/list-query.ts';
import { createSession, type SessionOptions, type StoredSession } from '../core/model.ts';
import { applyEvents, pointTo, rememberBatch, replayedVersion, requestCancel } from '../core/reducer.ts';
import { createSessionSchema, parse } from '../core/schemas.ts';
import { toSnapshot } from '../core/snapshot.ts';
import type { SessionPage, SessionStore } from '../store/session-store.ts';
import {
  type Authenticator,
  type Credential,
  ownerFor,
  type Right,
  SessionAccess,
  type SubjectScope,
  type TokenSigner,
} from './access.ts';
import { resolveChains } from './chains.ts';
import type { FinishHooks } from './finish-hooks.ts';
import type { OperationRunner, OperationSpec } from './operation-spec.ts';
import { Parents } from './parents.ts';
import { checkWebhookUrl } from './webhook-guard.ts';

export type { OperationRunner, OperationSpec } from './operation-spec.ts';

/** A batch without a chain event names no next session. */
const NO_NEXTS: ReadonlyMap<string, NextSession> = new Map();

export interface SessionServiceOptions {
  store: SessionStore;
  signer: TokenSigner;
  authenticator: Authenticator;
  now: () => number;
  operations: OperationRunner;
  /** Defaults for new sessions. */
  sessionDefaults: Partial<SessionOptions> & { ttlSeconds?: number };
  viewerTokenTtlSeconds: number;
  reporterTokenTtlSeconds: number;
  /** Sessions one owner may hold at once (429 past it); counted only where the store can (`countOwned`). */
  sessionsPerOwner?: number;
  /** Told of every write, to fire completion hooks once a session ends. */
  hooks?: FinishHooks;
  /** Set when sessions may ask for a webhook (a webhook secret is configured): where they may go. */
  webhooks?: { allowPrivateNetworks?: boolean | undefined };
  /** Absolute URL the server is reached at; else each answer's base is the caller's. */
  publicUrl?: string;
}

/**
 * Told of every new session before it is made, with its owner (null: none),
 * to count it against a creation limit; throws to refuse it.
 */
export type AdmitCreation = (owner: string | null) => Promise<void>;

/** How a session comes to be made, besides its input. */
export interface CreateOptions {
  /** The registered operation it runs, and its input. */
  operation?: { name: string; input: unknown };
  /** Counts the creation against a limit (the HTTP layer's rate limit). */
  admit?: AdmitCreation;
  /**
   * Whether the owner's cap (`sessionsPerOwner`) applies. Every path a
   * client takes is capped; only this process's own calls are not.
   * @default true unless the caller is this process
   */
  capped?: boolean;
}

/** The seconds a renewal of `token` is granted: what the token was granted, at most `most`, at least one. */
export function renewalLifetime(token: { lifetime: number }, most: number): number {
  return Math.max(1, Math.min(token.lifetime, most));
}

/** Sessions one filtered list call reads at most (a filter that matches little still costs each call this much). */
export const LIST_READ_MOST = 1_000;

/** A fresh session id: 128 bits of randomness. */
export const newSessionId = (): string => randomBytes(16).toString('base64url');

export class SessionService {
  readonly #options: SessionServiceOptions;
  readonly #parents: Parents;

  constructor(options: SessionServiceOptions) {
    this.#options = options;
    this.#parents = new Parents({ store: options.store, now: options.now, hooks: options.hooks });
  }

  /**
   * Creates a session, owned by whoever asks (an admin key or this process
   * may name another owner). Its input is validated where it came in (the
   * route, the facade) with `createSessionSchema`. `base`: the URL prefix the
   * caller reaches the API at, for the answer's URLs.
   */
  async create(
    body: CreateSessionInput,
    as: Credential,
    base: string,
    options: CreateOptions = {},
  ): Promise<{ created: CreatedSession; session: StoredSession }> {
    const { viewerScope, ...input } = body;
    // A child has its parent's owner and subject, and the parent's reporter token may create it.
    const family =
      input.parent === undefined ? undefined : await this.#parents.admitChild(input.parent, as, input.owner);
    const owner = family ? family.owner : ownerFor(as, input.owner);
    if (family?.subject !== undefined) input.subject ??= family.subject;
    if (input.webhook !== undefined) checkWebhookUrl(input.webhook, this.#options.webhooks);
    await options.admit?.(owner);
    const cap = this.#options.sessionsPerOwner;
    if (cap !== undefined && (options.capped ?? as.kind !== 'system') && this.#options.store.countOwned) {
      const held = await this.#options.store.countOwned(owner);
      if (held >= cap) {
        throw new LiveopError(
          'rate_limited',
          `${owner ?? 'this server'} holds ${held} sessions, the most; wait for some to end`,
          {
            retryAfterSeconds: 60,
          },
        );
      }
    }
    const session = createSession(
      newSessionId(),
      { ...input, owner: owner ?? undefined },
      this.#options.now(),
      this.#options.sessionDefaults,
    );
    const answerBase = this.#base(base);
    const storedBase = this.#storedBase(base);
    if (storedBase !== '') session.base = storedBase;
    if (options.operation) session.operation = options.operation;
    await this.#options.store.create(session);
    this.#options.hooks?.written(null, session);
    await this.#parents.rollUp(null, session);
    // Whoever the page is shown to holds the viewer token: with API keys it only
    // watches unless the creator asks for more; open mode (this machine) may cancel.
    const scope = viewerScope ?? (this.#options.authenticator.open ? 'view+cancel' : 'view');
    return { created: this.answer(session, answerBase, scope), session };
  }

  /** A session the caller may see (`right`): not_found, forbidden or unauthorized otherwise. */
  read(id: string, as: Credential, right: Right = 'view'): Promise<StoredSession> {
    return this.readWith(SessionAccess.check(id, as, right));
  }

  /** The session `access` is for, once it holds its right on it (checked when the access was made, by the caller). */
  async readWith(access: SessionAccess): Promise<StoredSession> {
    const session = await this.#options.store.get(access.id);
    if (session === undefined) throw new LiveopError('not_found', `unknown session "${access.id}"`);
    access.holdsOn(session);
    return session;
  }

  /**
   * The caller's sessions that `query` asks for, newest first (an admin
   * key's or this process's: everyone's). A subject token lists its own end
   * user's sessions, and no one else's.
   */
  async list(
    as: Credential,
    page: { limit: number; cursor?: string | null | undefined } & ListQuery,
  ): Promise<SessionPage> {
    const { limit, cursor, ...asked } = page;
    const query = this.listQuery(as, asked);
    const now = this.#options.now();
    return this.#options.store.list({
      owner: this.#listOwner(as),
      ...(query.parent === undefined ? {} : { parent: query.parent }),
      limit,
      cursor: cursor ?? null,
      ...(filters(query) ? { filter: (s: StoredSession) => matches(s, query, now), readMost: LIST_READ_MOST } : {}),
    });
  }

  /** The query as the caller may ask it: refused for session tokens, held to its subject for subject tokens. */
  listQuery(as: Credential, query: ListQuery): ListQuery {
    if (as.kind === 'token') throw new LiveopError('forbidden', 'listing sessions needs an API key or a subject token');
    if (as.kind !== 'subject') return query;
    if (query.subject !== undefined && query.subject !== as.subject) {
      throw new LiveopError('forbidden', 'subject: a subject token lists only its own subject');
    }
    return { ...query, subject: as.subject };
  }

  /** Whether a session belongs on the caller's list of `query` at the time (a list's live stream asks, session by session). */
  listed(as: Credential, query: ListQuery): (session: StoredSession) => boolean {
    const asked = this.listQuery(as, query);
    const owner = this.#listOwner(as);
    return (s) => (owner === undefined || s.owner === owner) && matches(s, asked, this.#options.now());
  }

  /** Where a list's live stream hears of changes to any session and reads the ones it may add. */
  changes(): Pick<SessionStore, 'subscribe' | 'get'> {
    return this.#options.store;
  }

  /** Whose sessions the caller lists: undefined for everyone's. */
  #listOwner(as: Credential): string | null | undefined {
    return as.kind === 'subject' ? as.owner : as.kind === 'key' && !as.admin ? as.owner : undefined;
  }

  /**
   * Applies a batch of events (validated where they came in, with
   * `eventBatchSchema`) atomically to the session `access` reports to (its
   * `right`: `report`). A `chain` is resolved first: the next session must
   * exist, share the owner, and be one the reporter may report to.
   */
  async report(
    access: SessionAccess,
    events: readonly ProgressEvent[],
    options: {
      /** The URL prefix the reporter reached: asked for only when a chain needs the next session's URLs. */
      base?: () => string;
      idempotencyKey?: string;
    } = {},
  ): Promise<EventsAccepted> {
    const { id, as } = access.expect('report');
    const key = options.idempotencyKey;
    let replayed: number | undefined;
    let before: StoredSession | null = null;
    // Chains are resolved (reads, a signed token) only in a batch that has one and was not applied before.
    const chains = events.flatMap((e) => (e.type === 'chain' ? [e] : []));
    const nexts =
      chains.length === 0 || (key !== undefined && (await this.#replayOf(id, key)))
        ? NO_NEXTS
        : await resolveChains(chains, as, {
            current: () => this.readWith(access),
            get: (nextId) => this.#options.store.get(nextId),
            credentialOf: (token) => this.#options.authenticator.credentialOf(token),
            base: (current) => this.#storedBase(current ?? options.base?.()),
            viewerToken: (nextId) => this.#options.signer.sign(nextId, 'view', this.#options.viewerTokenTtlSeconds),
          });
    const session = await this.#options.store.update(id, (s) => {
      // A key's owner is checked against the session here, inside the update, so a post costs one store read.
      access.holdsOn(s);
      // A batch sent again with its key (a retry after a lost answer) is not applied twice. Checked
      // inside the atomic update, so two copies racing, on any instances, apply once.
      replayed = key === undefined ? undefined : replayedVersion(s, key);
      if (replayed !== undefined) return s;
      before = s;
      const next = applyEvents(s, events, this.#options.now(), { resolveNext: (nextId) => nexts.get(nextId)! });
      return key === undefined || next === s ? next : rememberBatch(next, key);
    });
    if (before !== null && session !== before) {
      this.#options.hooks?.written(before, session);
      await this.#parents.rollUp(before, session);
    }
    return { version: replayed ?? session.version, cancelRequested: session.cancelRequested };
  }

  /** Whether the session already applied the batch with this key (so a retried chain need not resolve again). */
  async #replayOf(id: string, key: string): Promise<boolean> {
    const session = await this.#options.store.get(id);
    return session !== undefined && replayedVersion(session, key) !== undefined;
  }

  /** Asks the session's work to stop: in-process tasks are aborted, HTTP reporters see `cancelRequested`. */
  async cancel(access: SessionAccess): Promise<{ version: number; cancelRequested: true }> {
    const { id } = access.expect('cancel');
    await this.readWith(access);
    let before: StoredSession | null = null;
    const session = await this.#options.store.update(id, (s) => {
      before = s;
      return requestCancel(s, this.#options.now());
    });
    if (before !== null && before !== session) this.#options.hooks?.written(before, session);
    // Running work hears the cancel through the store; queued work is dequeued here.
    if (session.operation) await this.#options.operations.cancel?.(id).catch(() => {});
    await this.#parents.cancelChildren(session, (child) =>
      this.cancel(SessionAccess.check(child, { kind: 'system' }, 'cancel')),
    );
    return { version: session.version, cancelRequested: true };
  }

  /** Removes it; its streams end with `gone`, its in-process tasks are aborted. */
  async remove(access: SessionAccess): Promise<void> {
    await this.readWith(access.expect('own'));
    await this.#options.store.delete(access.id);
  }

  /** Mints another token for the session. */
  async mintToken(
    access: SessionAccess,
    request: { scope: TokenScope; ttlSeconds?: number | undefined },
  ): Promise<{ token: string; scope: TokenScope; ttlSeconds: number }> {
    const { as } = access.expect('own');
    const session = await this.readWith(access);
    const wanted =
      request.ttlSeconds ??
      (request.scope === 'report' ? this.#options.reporterTokenTtlSeconds : this.#options.viewerTokenTtlSeconds);
    // A token mints none that outlives it: a leaked reporter token cannot renew itself for good.
    const left = as.kind === 'token' ? Math.max(1, as.exp - Math.floor(this.#options.now() / 1000)) : wanted;
    const ttl = Math.min(wanted, left);
    return { token: this.#options.signer.sign(session.id, request.scope, ttl), scope: request.scope, ttlSeconds: ttl };
  }

  /** What is registered under `name`, if anything. */
  operation(name: string): OperationSpec | undefined {
    return this.#options.operations.spec(name);
  }

  /**
   * Starts a registered operation with a JSON input (validated by its
   * schema), owned by the caller (or `owner`, for an admin key or this process).
   */
  async start(
    name: string,
    input: unknown,
    as: Credential,
    base: string,
    options: { owner?: string | undefined; admit?: AdmitCreation } = {},
  ): Promise<CreatedSession> {
    if (this.#options.operations.spec(name) === undefined)
      throw new LiveopError('not_found', `unknown operation "${name}"`);
    if (as.kind === 'token' || as.kind === 'subject')
      throw new LiveopError(
        'forbidden',
        `a ${as.kind === 'token' ? 'session' : 'subject'} token cannot start operations; use an API key`,
      );
    return this.#launch(name, input, ownerFor(as, options.owner), base, {
      capped: as.kind !== 'system',
      ...(options.admit ? { admit: options.admit } : {}),
    });
  }

  /**
   * Starts an operation registered with `visitors: true` for someone with no
   * credential (the route counts them per client address).
   */
  async startForVisitor(name: string, input: unknown, base: string): Promise<VisitorSession> {
    if (this.#options.operations.spec(name)?.visitors !== true) {
      throw new LiveopError('unauthorized', `operation "${name}" needs an API key: send Authorization: Bearer <key>`);
    }
    const { reporterToken: _reporterToken, ...answer } = await this.#launch(name, input, null, base, {
      capped: true,
      viewerScope: 'view+cancel',
    });
    return answer;
  }

  /**
   * Starts a finished operation again, with the same input and owner, as a
   * new session (liveops' restart). The new session counts against the
   * owner's cap and `admit`, as any other creation does, whoever asks.
   */
  async restart(access: SessionAccess, base: string, admit?: AdmitCreation): Promise<CreatedSession> {
    const { id, as } = access.expect('own');
    const session = await this.readWith(access);
    if (!session.operation) throw new LiveopError('conflict', 'only sessions started as operations can be restarted');
    const status = toSnapshot(session, this.#options.now()).status;
    if (status === 'pending' || status === 'running')
      throw new LiveopError('conflict', `the session is still ${status}`);
    if (this.#options.operations.spec(session.operation.name) === undefined) {
      throw new LiveopError('conflict', `operation "${session.operation.name}" is not registered on this server`);
    }
    const created = await this.#launch(session.operation.name, session.operation.input, session.owner, base, {
      capped: as.kind !== 'system',
      ...(admit ? { admit } : {}),
    });
    // In place: whoever still watches the old session follows the new attempt, as after a chain.
    const streamUrl = sessionStreamUrl(this.#storedBase(session.base ?? base), created.id);
    const next = { id: created.id, streamUrl, viewerToken: created.viewerToken };
    await this.#options.store.update(id, (s) => pointTo(s, next, this.#options.now())).catch(() => {});
    return created;
  }

  async #launch(
    name: string,
    input: unknown,
    owner: string | null,
    base: string,
    options: Pick<CreateOptions, 'admit' | 'capped'> & { viewerScope?: 'view+cancel' },
  ): Promise<CreatedSession> {
    const { viewerScope, ...creation } = options;
    const spec = this.#options.operations.spec(name)!;
    const value = spec.input ? parse(spec.input, input) : input;
    const title = typeof spec.title === 'function' ? spec.title(value as never) : (spec.title ?? name);
    const body = parse(createSessionSchema, {
      title,
      ...(spec.tasks ? { tasks: spec.tasks } : {}),
      ...(spec.stages ? { stages: spec.stages } : {}),
      ...(spec.ttlSeconds === undefined ? {} : { ttlSeconds: spec.ttlSeconds }),
      ...(owner === null ? {} : { owner }),
      ...(viewerScope ? { viewerScope } : {}),
    });
    const { created } = await this.create(body, { kind: 'system' }, base, {
      ...creation,
      operation: { name, input: value },
    });
    await this.#options.operations.run(name, created.id, value);
    return created;
  }

  /**
   * A fresh viewer token like `as` (same session and scope, a new lifetime
   * as long as the one it was granted, and never longer than viewer tokens
   * get), for a viewer whose stream outlives its token. Reporter tokens are
   * not renewed this way.
   */
  renewViewerToken(as: Credential): { token: string; exp: number } | null {
    if (as.kind !== 'token' || as.scope === 'report') return null;
    const now = this.#options.now();
    const ttl = renewalLifetime(as, this.#options.viewerTokenTtlSeconds);
    const token = this.#options.signer.sign(as.sessionId, as.scope, ttl, now);
    return { token, exp: Math.floor(now / 1000) + ttl };
  }

  /**
   * A token for a session the caller may list, so a list page opens it live:
   * view-only, or `view+cancel` for a subject token that may cancel.
   */
  viewToken(id: string, as?: Credential): string {
    const scope = as?.kind === 'subject' ? as.scope : 'view';
    return this.#options.signer.sign(id, scope, this.#options.viewerTokenTtlSeconds);
  }

  /**
   * A subject token: the caller's sessions for one end user (`subject`), for
   * a browser to list, watch and (`view+cancel`) cancel without the API key.
   * An admin key or this process may name another owner.
   */
  mintSubjectToken(
    request: { subject: string; scope: SubjectScope; ttlSeconds?: number | undefined; owner?: string | undefined },
    as: Credential,
  ): { token: string; scope: SubjectScope; ttlSeconds: number } {
    if (as.kind === 'token' || as.kind === 'subject') {
      throw new LiveopError('forbidden', 'subject tokens are minted with an API key');
    }
    const owner = ownerFor(as, request.owner);
    const ttl = request.ttlSeconds ?? this.#options.viewerTokenTtlSeconds;
    const token = this.#options.signer.signSubject(owner, request.subject, request.scope, ttl, this.#options.now());
    return { token, scope: request.scope, ttlSeconds: ttl };
  }

  /** The answer to a creation: ids, tokens and URLs. */
  answer(session: StoredSession, base: string, viewerScope: TokenScope = 'view+cancel'): CreatedSession {
    const { signer, viewerTokenTtlSeconds, reporterTokenTtlSeconds } = this.#options;
    const viewerToken = signer.sign(session.id, viewerScope, viewerTokenTtlSeconds);
    return {
      id: session.id,
      viewerToken,
      reporterToken: signer.sign(session.id, 'report', reporterTokenTtlSeconds),
      streamUrl: sessionStreamUrl(base, session.id),
      snapshotUrl: sessionUrl(base, session.id),
      watchUrl: `${base}/watch/${session.id}?token=${viewerToken}`,
    };
  }

  #base(base: string | undefined): string {
    return (this.#options.publicUrl ?? base ?? '').replace(/\/$/, '');
  }

  /**
   * The base of URLs kept in a session (a chain's or restart's `next`), which
   * every later viewer is sent: the configured public URL, else only the path
   * of the caller's base, so no request's `Host` header reaches other viewers.
   */
  #storedBase(base: string | undefined): string {
    if (this.#options.publicUrl !== undefined) return this.#base(undefined);
    if (base === undefined || base === '') return '';
    return URL.canParse(base) ? new URL(base).pathname.replace(/\/$/, '') : base.replace(/\/$/, '');
  }
}
