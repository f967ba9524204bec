/**
 * What `createLiveop()` takes: every option, with its default.
 */

import type { Snapshot } from '../protocol/index.ts';
import type { SessionOptions } from './core/model.ts';
import type { AppConfig } from './http/context.ts';
import type { Caps, RateLimits } from './http/limits.ts';
import type { BullmqOptions } from './runner/bullmq-options.ts';
import type { ApiKey } from './sessions/access.ts';
import type { WebhookOptions } from './sessions/webhook.ts';
import type { SessionStore } from './store/session-store.ts';

export interface LiveopOptions extends Partial<AppConfig> {
  /** Where sessions live. @default an in-memory store (one process) */
  store?: SessionStore;
  /** API keys → owners. None: open mode (the server binds loopback only). @default {} */
  apiKeys?: Record<string, ApiKey>;
  /**
   * Secret for signing tokens; instances sharing a store must share it. Several
   * rotate it with no downtime: the first signs, all verify.
   * @default random per process
   */
  secret?: string | string[];
  /** Defaults for new sessions (`stallAfterMs`, `deadAfterMs`, `logLimit`, `expectedMs`, `cancelGraceMs`, `ttlSeconds`). */
  sessionDefaults?: Partial<SessionOptions> & { ttlSeconds?: number };
  /** Stream lines a second per session, at most. @default 10 */
  throttleHz?: number;
  /** Heartbeat after this much stream silence. @default 15000 */
  heartbeatMs?: number;
  /** Parallel in-process tasks at once. @default 8 */
  concurrency?: number;
  /** The clock. @default Date.now */
  now?: () => number;
  /**
   * Path of the built element served at `/widget.js`; `<live-operation-list>`'s
   * bundle, served at `/widget-list.js`, is read beside it (`live-operation-list.js`).
   * @default dist/live-operation.js
   */
  widgetPath?: string;
  /**
   * Rate limits per credential (the key's owner, the token's session, or in
   * open mode the client's address), shared across instances on Redis;
   * `false` turns them off. 429 with `Retry-After` past them.
   * @default DEFAULT_RATE_LIMITS (100 sessions created, 2,000 event posts per session, 200 streams opened, 50 tokens minted, each a second)
   * @example { create: { points: 10, seconds: 1 } }
   */
  rateLimits?: Partial<RateLimits> | false;
  /**
   * Caps: sessions per owner (429 past it), streams per client address and per instance (503 past them).
   * @default DEFAULT_CAPS (10,000 sessions per owner; 10,000 streams per address, 20,000 per instance)
   */
  caps?: Partial<Caps>;
  /**
   * Where registered operations run: `local`, a queue in this process (so a
   * server with no Redis still does everything); `inline`, the caller awaits
   * the whole run (tests, scripts); or BullMQ workers on Redis —
   * `{ bullmq: { url } }` — which outlive the server: start them with
   * `liveop worker` (or `liveop.work()`).
   * @default 'local'
   * @example { bullmq: { url: process.env.REDIS_URL! } }
   */
  runner?: 'local' | 'inline' | { bullmq: BullmqOptions };
  /** Operations the local runner runs at once; the others wait their turn. @default 8 */
  operationConcurrency?: number;
  /**
   * Called once a session has ended, whatever the outcome, with its final
   * snapshot (besides each operation's own `onFinish`). What it throws is logged.
   */
  onFinish?: (snapshot: Snapshot) => unknown;
  /**
   * Lets sessions ask for a webhook (`webhook` on create): its final
   * snapshot, POSTed signed with `secret` (`Liveop-Signature`), retried with
   * backoff — on BullMQ's webhooks queue when the runner is BullMQ, so a
   * restart drops none; the workers configured with it send them. Left out:
   * sessions asking for one are refused.
   * @example { secret: process.env.LIVEOP_WEBHOOK_SECRET! }
   */
  webhooks?: WebhookOptions;
}
