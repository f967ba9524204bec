/**
 * Credentials of the contract: API keys mapped to owners (admin keys see
 * all), and signed, expiring, session-scoped tokens for viewers and
 * reporters. A token is `base64url(JSON {sid, scope, exp, run?}).base64url(HMAC-SHA256)`:
 * compact enough for a URL, readable by the element (to know whether to show
 * a cancel button) but only the server can mint or check one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SERVER_RESTARTED, scopeAllows, type TokenScope } from '../../protocol/index.ts';
import { LiveopError } from '../core/errors.ts';

export interface ApiKey {
  owner: string;
  admin?: boolean;
}

export type Credential =
  /** No keys configured: the embedded default, bound to loopback. */
  | { kind: 'open' }
  /** This process's own code (the in-process API, the runners): every right, any owner. */
  | { kind: 'system' }
  | { kind: 'key'; owner: string; admin: boolean }
  /**
   * `exp`: when it expires, seconds since the epoch; `lifetime`: the seconds
   * it was granted for (a renewal is granted no more).
   */
  | { kind: 'token'; sessionId: string; scope: TokenScope; exp: number; lifetime: number }
  /**
   * A browser's view of one end user's sessions (those created with this
   * `subject` by this owner): it lists and watches them, and with
   * `view+cancel` cancels them — never reports, deletes or restarts.
   */
  | { kind: 'subject'; owner: string | null; subject: string; scope: SubjectScope; exp: number };

/** What a subject token may do. */
export type SubjectScope = 'view' | 'view+cancel';

/** A session token's payload. */
export interface SessionTokenPayload {
  sid: string;
  scope: TokenScope;
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** When it was signed, seconds since the epoch (absent in tokens signed before it was added). */
  iat?: number;
  /** The signing process's run id, when it signs with a random secret of its own (none configured). */
  run?: string;
}

/** A subject token's payload: the end user (`sub`) and the owner (`own`) whose sessions it shows. */
export interface SubjectTokenPayload {
  sub: string;
  own: string | null;
  scope: SubjectScope;
  exp: number;
  iat: number;
  /** The signing process's run id, when it signs with a random secret of its own (none configured). */
  run?: string;
}

export type TokenPayload = SessionTokenPayload | SubjectTokenPayload;

declare const tokenBrand: unique symbol;
/** A token this server signed. */
export type SignedToken = string & { readonly [tokenBrand]: true };

/** Verified tokens remembered, so a reporter posting many times a second pays the HMAC once. */
const VERIFIED_CACHE_SIZE = 10_000;

export class TokenSigner {
  /** The first signs; all verify. */
  readonly #secrets: Buffer[];
  /**
   * Set when no secret is configured: the random secret dies with this
   * process, and so do the sessions of a memory store. Tokens carry it so
   * that one from an earlier run can be told apart from a forged one by
   * what it claims — it is still refused, with an answer saying why.
   */
  readonly #run: string | undefined;
  readonly #verified = new Map<string, TokenPayload>();

  /**
   * `secrets`: one, or several to rotate with no downtime — the first signs,
   * every one verifies: put the new secret first, keep the old one until the
   * tokens it signed have expired (a day for reporter tokens), then drop it.
   * Each at least 16 bytes; instances sharing a store must share them.
   * Random when omitted.
   */
  /** The clock every token is signed and checked by (the one the rest of the server takes). */
  readonly now: () => number;

  constructor(secrets?: string | readonly string[], options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
    const list = typeof secrets === 'string' ? [secrets] : (secrets ?? []);
    this.#secrets = list.length > 0 ? list.map((s) => Buffer.from(s)) : [randomBytes(32)];
    this.#run = list.length > 0 ? undefined : randomBytes(9).toString('base64url');
    if (this.#secrets.some((s) => s.length < 16)) {
      throw new Error('each token secret (LIVEOP_SECRET, comma-separated) must be at least 16 bytes');
    }
  }

  sign(sessionId: string, scope: TokenScope, ttlSeconds: number, now = this.now()): SignedToken {
    const iat = Math.floor(now / 1000);
    return this.#signed({ sid: sessionId, scope, exp: iat + ttlSeconds, iat });
  }

  /** A subject token: `owner`'s sessions for the end user `subject`, to list, watch and (`view+cancel`) cancel. */
  signSubject(
    owner: string | null,
    subject: string,
    scope: SubjectScope,
    ttlSeconds: number,
    now = this.now(),
  ): SignedToken {
    const iat = Math.floor(now / 1000);
    return this.#signed({ sub: subject, own: owner, scope, exp: iat + ttlSeconds, iat });
  }

  #signed(fields: TokenPayload): SignedToken {
    const payload: TokenPayload = this.#run ? { ...fields, run: this.#run } : fields;
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.#mac(body)}` as SignedToken;
  }

  /** The payload of a genuine, unexpired token; throws 401 otherwise. */
  verify(token: string, now = this.now()): TokenPayload {
    const known = this.#verified.get(token);
    if (known !== undefined) {
      if (known.exp * 1000 <= now) throw new LiveopError('unauthorized', 'token expired');
      return known;
    }
    const payload = this.#check(token, now);
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(token, payload);
    return payload;
  }

  #check(token: string, now: number): TokenPayload {
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined) throw new LiveopError('unauthorized', 'malformed token');
    const given = Buffer.from(mac);
    const genuine = this.#secrets.some((secret) => {
      const expected = Buffer.from(this.#mac(body, secret));
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
    if (!genuine) {
      // Unverifiable either way; a forger who claims another run learns only that this server restarted.
      const run = claimedRun(body);
      if (this.#run && run !== undefined && run !== this.#run) {
        throw new LiveopError(
          'not_found',
          'this operation is no longer available — the server restarted, and its sessions were kept in memory',
          { code: SERVER_RESTARTED },
        );
      }
      throw new LiveopError('unauthorized', 'invalid token signature');
    }
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as TokenPayload;
    if (payload.exp * 1000 <= now) throw new LiveopError('unauthorized', 'token expired');
    return payload;
  }

  #mac(body: string, secret: Buffer = this.#secrets[0]!): string {
    return createHmac('sha256', secret).update(body).digest('base64url');
  }
}

/** The `run` a token's body claims, if it is readable and has one. */
function claimedRun(body: string): string | undefined {
  try {
    const run = (JSON.parse(Buffer.from(body, 'base64url').toString()) as { run?: unknown }).run;
    return typeof run === 'string' ? run : undefined;
  } catch {
    return undefined;
  }
}

export interface Authenticator {
  /**
   * The same, for a credential given as a string (undefined: none given).
   * `from: 'query'` accepts only tokens: an API key in a URL ends up in
   * access logs, browser history and referrers.
   */
  credentialOf(given: string | undefined, from?: 'header' | 'query'): Credential;
  /** Whether `given` is one of the API keys (which never belong in a URL, whatever else a request sends). */
  isApiKey(given: string): boolean;
  readonly open: boolean;
}

export function createAuthenticator(keys: Record<string, ApiKey>, signer: TokenSigner): Authenticator {
  const open = Object.keys(keys).length === 0;
  const credentialOf = (given: string | undefined, from: 'header' | 'query' = 'header'): Credential => {
    if (!given) {
      if (open) return { kind: 'open' };
      throw new LiveopError(
        'unauthorized',
        'credentials required: Authorization: Bearer <API key or token>, or ?token=<token>',
      );
    }
    const key = Object.hasOwn(keys, given) ? keys[given] : undefined;
    if (from === 'query' && (key || !given.includes('.'))) {
      throw new LiveopError('unauthorized', 'token: API keys go only in the Authorization header, never in a URL');
    }
    if (key) return { kind: 'key', owner: key.owner, admin: key.admin ?? false };
    if (!given.includes('.')) throw new LiveopError('unauthorized', 'neither a known API key nor a Liveop token');
    const payload = signer.verify(given);
    if ('sub' in payload) {
      return { kind: 'subject', owner: payload.own, subject: payload.sub, scope: payload.scope, exp: payload.exp };
    }
    // A token from before `iat` was signed in is taken to be granted only what it has left.
    const lifetime = payload.exp - (payload.iat ?? Math.floor(signer.now() / 1000));
    return { kind: 'token', sessionId: payload.sid, scope: payload.scope, exp: payload.exp, lifetime };
  };
  return { open, credentialOf, isApiKey: (given) => Object.hasOwn(keys, given) };
}

export type Right = 'view' | 'cancel' | 'report' | 'own';

/**
 * Throws 403 unless the credential holds `right` on the session.
 * `own`: reporter or owner rights (delete, create-side operations).
 */
export function authorize(
  credential: Credential,
  right: Right,
  session: { id: string; owner: string | null; subject?: string | undefined },
): void {
  SessionAccess.check(session.id, credential, right).holdsOn(session);
}

/**
 * A credential's `right` on one session, decided once per request. `check()`
 * refuses, before anything is read (so nothing reveals whether the session
 * exists), what the credential alone decides: a session token for another
 * session or without the scope, a subject token asked to report or own.
 * `holdsOn()` judges the rest once the session is read: a key's owner, a
 * subject token's end user. The HTTP edge makes it and the service takes it,
 * so no later step checks the credential again.
 */
export class SessionAccess {
  private constructor(
    readonly id: string,
    readonly as: Credential,
    readonly right: Right,
  ) {}

  static check(id: string, as: Credential, right: Right): SessionAccess {
    if (as.kind === 'token') {
      refuseOtherSession(as, id);
      if (!(right === 'own' ? as.scope === 'report' : scopeAllows(as.scope, right))) {
        throw new LiveopError('forbidden', `this token's scope (${as.scope}) does not allow ${right}`);
      }
    } else if (as.kind === 'subject') {
      if (right === 'report' || right === 'own') {
        throw new LiveopError('forbidden', `a subject token may not ${right === 'own' ? 'do that' : 'report'}`);
      }
      if (right === 'cancel' && as.scope !== 'view+cancel') {
        throw new LiveopError('forbidden', `this subject token's scope (${as.scope}) does not allow ${right}`);
      }
    }
    return new SessionAccess(id, as, right);
  }

  /** Throws unless this access was checked for `right`: a step taking it for another right is a bug, not a refusal. */
  expect(right: Right): this {
    if (this.right !== right) throw new Error(`an access checked for ${this.right} was used to ${right}`);
    return this;
  }

  /** Throws 403 unless the credential holds its right on `session`, read (a token's was decided by `check()`). */
  holdsOn(session: { owner: string | null; subject?: string | undefined }): void {
    const as = this.as;
    switch (as.kind) {
      case 'open':
      case 'system':
      case 'token':
        return;
      case 'key':
        if (as.admin || session.owner === as.owner) return;
        throw new LiveopError('forbidden', 'this session belongs to another owner');
      case 'subject':
        if (session.owner === as.owner && session.subject === as.subject) return;
        throw new LiveopError('forbidden', 'this session is not one of the subject token’s');
      default:
        throw new Error('unknown credential');
    }
  }
}

/** A token for another session is refused before anything reveals whether this one exists. */
function refuseOtherSession(as: Credential, id: string): void {
  if (as.kind === 'token' && as.sessionId !== id)
    throw new LiveopError('forbidden', 'this token is for another session');
}

/** Parses `KEY:OWNER[:admin],…` (the LIVEOP_API_KEYS format). */
export function parseApiKeys(spec: string | undefined): Record<string, ApiKey> {
  const keys: Record<string, ApiKey> = {};
  for (const entry of (spec ?? '').split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    const [key, owner, flag] = entry.split(':');
    if (!key || !owner || (flag !== undefined && flag !== 'admin')) {
      throw new Error(`LIVEOP_API_KEYS: "${entry}" is not KEY:OWNER or KEY:OWNER:admin`);
    }
    if (key.length < 16) throw new Error(`LIVEOP_API_KEYS: the key for ${owner} is shorter than 16 characters`);
    keys[key] = { owner, admin: flag === 'admin' };
  }
  return keys;
}

/** Who owns a new session: the key's owner; another only for admin keys, open mode and this process. */
export function ownerFor(as: Credential, requested: string | undefined): string | null {
  switch (as.kind) {
    case 'token':
    case 'subject':
      throw new LiveopError(
        'forbidden',
        `a ${as.kind === 'token' ? 'session' : 'subject'} token cannot create sessions; use an API key`,
      );
    case 'open':
    case 'system':
      return requested ?? null;
    case 'key':
      if (requested !== undefined && requested !== as.owner && !as.admin) {
        throw new LiveopError('forbidden', 'only an admin key may create sessions for another owner');
      }
      return requested ?? as.owner;
  }
}
