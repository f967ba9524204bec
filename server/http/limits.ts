/**
 * Rate limits and caps, so a runaway script or a leaked key cannot fill the
 * store or the event loop. Counting is rate-limiter-flexible's (a maintained
 * library with the same fixed-window counters over memory and Redis, and an
 * in-memory insurance when Redis is away): on Redis, session creation,
 * token minting and lists are counted across instances; event posts and
 * stream opens by each instance (see the constructor). A request is counted
 * only once its credential may do what it asks, so a refused one spends
 * nobody's budget. Past a rate limit: 429 with `Retry-After`; past a cap: 503 with
 * `Retry-After` (the element backs off).
 */
import type { MiddlewareHandler } from 'hono';
import ipaddr from 'ipaddr.js';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import { LiveopError } from '../core/errors.ts';
import { describeIssues } from '../core/schemas.ts';
import type { Credential } from '../sessions/access.ts';
import type { RateLimiterFactory } from '../store/session-store.ts';
import type { RouteEnv } from './credentials.ts';
import { clientAddress } from './node-bindings.ts';

/** A limit: at most `points` in every `seconds`. */
export interface Rate {
  points: number;
  seconds: number;
}

export interface RateLimits {
  /** Sessions one credential may create (`POST /sessions`, operations, the demo). @default 100 per second */
  create: Rate;
  /** Event posts to one session. The contract asks for at least 1,000 events a second. @default 2,000 per second */
  events: Rate;
  /** Streams one credential may open. @default 200 per second */
  streams: Rate;
  /** Tokens one credential may mint. @default 50 per second */
  tokens: Rate;
  /** Session lists (`GET /sessions`) one credential may read. @default 20 per second */
  lists: Rate;
  /**
   * Operations one client address may start with no credential at all (those
   * registered with `visitors: true`: a button on a public page). @default 10 per minute
   */
  visitors: Rate;
}

export interface Caps {
  /** Sessions one owner may hold at once (until they expire). @default 10000 */
  sessionsPerOwner: number;
  /** Streams open at once from one client address, on this instance. @default 10000 */
  streamsPerAddress: number;
  /** Streams open at once on this instance (each holds a socket, and so a file descriptor). @default 20000 */
  streamsPerInstance: number;
  /**
   * A stream whose client has taken none of its bytes for this long, with
   * more waiting (its socket full), is closed; an element reconnects and
   * resumes where it was. @default 30000
   */
  stuckStreamMs: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  create: { points: 100, seconds: 1 },
  events: { points: 2_000, seconds: 1 },
  streams: { points: 200, seconds: 1 },
  tokens: { points: 50, seconds: 1 },
  lists: { points: 20, seconds: 1 },
  visitors: { points: 10, seconds: 60 },
};

export const DEFAULT_CAPS: Caps = {
  sessionsPerOwner: 10_000,
  streamsPerAddress: 10_000,
  streamsPerInstance: 20_000,
  stuckStreamMs: 30_000,
};

/**
 * The client an address-counted limit counts: an IPv4 address alone, an IPv6
 * address by its /64 — one host's usual allocation, inside which a client can
 * pick a new address for every request.
 */
export function addressKey(address: string): string {
  if (!ipaddr.isValid(address)) return `address:${address}`;
  const parsed = ipaddr.process(address); // an IPv4-mapped IPv6 address counts as its IPv4 address
  if (parsed.kind() === 'ipv4') return `address:${parsed.toString()}`;
  const prefix = (parsed as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `address:${prefix.join(':')}::/64`;
}

/**
 * Who a limit counts: a key's owner; a token together with its holder's
 * address, since one viewer token is shared by everyone a page is shown to
 * and none of them may spend another's budget; with no credential (open
 * mode), the client's address.
 */
export function limitKey(who: Credential, address: string): string {
  switch (who.kind) {
    case 'key':
      return `owner:${who.owner}`;
    case 'token':
      return `token:${who.sessionId}:${who.scope}:${who.exp}:${addressKey(address)}`;
    case 'subject':
      return `subject:${who.owner}:${who.subject}:${who.scope}:${who.exp}:${addressKey(address)}`;
    default:
      return addressKey(address);
  }
}

/**
 * Whom a new session counts against, whatever path creates it (a create, an
 * operation's start, a restart): its owner, or for a session with none (open
 * mode, a visitor) the client's address.
 */
export function createKey(owner: string | null, address: string): string {
  return owner === null ? addressKey(address) : `owner:${owner}`;
}

const memoryLimiter: RateLimiterFactory = (options) => new RateLimiterMemory(options);

/** The limiters of one app; `rates: false` turns rate limiting off (caps stay). */
export class Limits {
  readonly #limiters: Record<keyof RateLimits, RateLimiterAbstract> | null;
  readonly caps: Caps;
  readonly #streams = new Map<string, number>();
  #streamsOpen = 0;

  constructor(rates: Partial<RateLimits> | false, caps: Partial<Caps>, factory: RateLimiterFactory = memoryLimiter) {
    this.caps = { ...DEFAULT_CAPS, ...caps };
    if (rates === false) {
      this.#limiters = null;
      return;
    }
    const all = { ...DEFAULT_RATE_LIMITS, ...rates };
    const make = (name: keyof RateLimits, where: RateLimiterFactory) =>
      where({ keyPrefix: `liveop-rl-${name}`, points: all[name].points, duration: all[name].seconds });
    // What fills the store (sessions, tokens) is counted where the store is, so the limits hold
    // across instances. Event posts and stream opens are counted by each instance: a shared count
    // would cost a Redis round trip on every event post, the hottest path, and a runaway
    // reporter or viewer talks to one instance per connection anyway (the stream caps bound the rest).
    this.#limiters = {
      create: make('create', factory),
      tokens: make('tokens', factory),
      lists: make('lists', factory),
      visitors: make('visitors', factory),
      events: make('events', memoryLimiter),
      streams: make('streams', memoryLimiter),
    };
  }

  /** Takes one point of `name` for `key`, or throws `rate_limited` with when to try again. */
  async take(name: keyof RateLimits, key: string): Promise<void> {
    const limiter = this.#limiters?.[name];
    if (!limiter) return;
    try {
      await limiter.consume(key);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) return; // the counter's store failed: serve rather than refuse
      const retryAfterSeconds = Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
      throw new LiveopError('rate_limited', `too many ${NAMES[name]}; try again in ${retryAfterSeconds} s`, {
        retryAfterSeconds,
      });
    }
  }

  /** A middleware taking one point of `name` for whoever `c.get('who')` is (after `RouteContext.auth`). */
  rate(name: 'streams' | 'tokens' | 'lists'): MiddlewareHandler<RouteEnv> {
    return async (c, next) => {
      await this.take(name, limitKey(c.get('who'), clientAddress(c)));
      await next();
    };
  }

  /**
   * The event budget of the session `c.get('access')` reports to (after
   * `RouteContext.auth('report')`, so a token that may not report is refused
   * before it is counted): its reporters share it, and each key counts in a
   * share of its own, so another owner's key cannot lock the reporter out.
   */
  readonly events: MiddlewareHandler<RouteEnv> = async (c, next) => {
    const { id, as } = c.get('access');
    await this.take('events', as.kind === 'key' ? `session:${id}:owner:${as.owner}` : `session:${id}`);
    await next();
  };

  /**
   * Holds a stream slot for `address` until `release()` is called; throws
   * `unavailable` past the caps.
   */
  openStream(address: string): () => void {
    const mine = this.#streams.get(address) ?? 0;
    if (this.#streamsOpen >= this.caps.streamsPerInstance) {
      throw new LiveopError('unavailable', `this server holds ${this.#streamsOpen} streams, its most; try again`, {
        retryAfterSeconds: 5,
      });
    }
    if (mine >= this.caps.streamsPerAddress) {
      throw new LiveopError('unavailable', `${mine} streams are open from this address, the most; close some`, {
        retryAfterSeconds: 5,
      });
    }
    this.#streams.set(address, mine + 1);
    this.#streamsOpen += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#streamsOpen -= 1;
      const left = (this.#streams.get(address) ?? 1) - 1;
      if (left <= 0) this.#streams.delete(address);
      else this.#streams.set(address, left);
    };
  }
}

const NAMES: Record<keyof RateLimits, string> = {
  create: 'sessions created',
  events: 'event posts to this session',
  streams: 'streams opened',
  tokens: 'tokens minted',
  lists: 'session lists read',
  visitors: 'operations started without a credential from this address',
};

const count = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const whole = z.coerce.number().pipe(count);
const rateSpec = z
  .string()
  .regex(/^\d+\/\d+$/, 'a rate is POINTS/SECONDS, e.g. 100/1')
  .transform((text) => {
    const [points, seconds] = text.split('/').map(Number) as [number, number];
    return { points, seconds };
  })
  .pipe(z.object({ points: count, seconds: count }));

/** `name=value,…` as an object, so the schemas below can name a wrong entry. */
function entries(text: string, variable: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const at = part.indexOf('=');
    if (at < 1) throw new Error(`${variable}: "${part}" is not name=value`);
    out[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return out;
}

function parseEnv<T>(schema: z.ZodType<T>, text: string, variable: string): T {
  const result = schema.safeParse(entries(text, variable));
  if (!result.success) throw new Error(`${variable}: ${describeIssues(result.error)}`);
  return result.data;
}

/**
 * `LIVEOP_RATE_LIMITS`: `off`, or `name=POINTS/SECONDS,…` over the defaults,
 * e.g. `create=10/1,events=5000/1`.
 */
export function parseRateLimits(text: string | undefined): Partial<RateLimits> | false {
  if (text === undefined || text.trim() === '') return {};
  if (text.trim() === 'off') return false;
  const schema = z
    .strictObject({
      create: rateSpec,
      events: rateSpec,
      streams: rateSpec,
      tokens: rateSpec,
      lists: rateSpec,
      visitors: rateSpec,
    })
    .partial();
  return parseEnv(schema, text, 'LIVEOP_RATE_LIMITS');
}

/** `LIVEOP_CAPS`: `name=NUMBER,…` over the defaults, e.g. `sessionsPerOwner=500,stuckStreamMs=10000`. */
export function parseCaps(text: string | undefined): Partial<Caps> {
  if (text === undefined || text.trim() === '') return {};
  const schema = z
    .strictObject({
      sessionsPerOwner: whole,
      streamsPerAddress: whole,
      streamsPerInstance: whole,
      stuckStreamMs: whole,
    })
    .partial();
  return parseEnv(schema, text, 'LIVEOP_CAPS');
}
