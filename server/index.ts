/**
 * `liveop`: the server library. Create a Liveop, mount its routes in your
 * Hono app (or `listen()`), run work in-process, and hand pages a stream URL
 * and a viewer token.
 *
 * @example
 * import { createLiveop } from 'liveop';
 * const liveop = createLiveop();
 * app.route('/progress', liveop.routes());
 *
 * Redis: `import { RedisSessionStore } from 'liveop/redis'`. The element:
 * `import 'liveop/element'`. A client for other processes: `liveop/client`.
 */

export * from '../protocol/index.ts';
export { type ErrorKind, LiveopError } from './core/errors.ts';
export type { SessionOptions, StoredSession } from './core/model.ts';
export type { LiveopApp } from './http/app.ts';
export {
  type CreatedProgressSession,
  createLiveop,
  type Listening,
  Liveop,
  type LiveopOptions,
} from './liveop.ts';
export type { BullmqOptions } from './runner/bullmq-options.ts';
export type { WorkerOptions } from './runner/bullmq-worker.ts';
export type { OperationContext, OperationDefinition } from './runner/operations.ts';
export {
  CancelledError,
  type ProgressSession,
  type TaskContext,
  type TaskFunction,
  type TaskHandle,
} from './runner/progress-session.ts';
export { type ApiKey, parseApiKeys } from './sessions/access.ts';
export { type WebhookOptions, webhookSignature } from './sessions/webhook.ts';
export { MemorySessionStore, type MemoryStoreOptions } from './store/memory-store.ts';
export {
  type ListOptions,
  SessionNotFound,
  type SessionPage,
  type SessionStore,
  type StoreChange,
  StoreUnavailable,
} from './store/session-store.ts';
