/**
 * `liveop/client`: report to and watch a Liveop server from any process or
 * page, over fetch. No dependencies; Node ≥ 20, Deno, Bun, browsers, workers.
 * See docs/client.md.
 */
export type {
  Artifact,
  ChildCounts,
  CreateSessionInput,
  ListedSession,
  MessageLevel,
  ProgressEvent,
  SessionList,
  SessionListQuery,
  Snapshot,
  StageState,
  TaskSnapshot,
} from '../protocol/index.ts';
export { type CreateOptions, createClient, type LiveopClient, type SessionTokens } from './client.ts';
export { LiveopClientError } from './errors.ts';
export type { ClientOptions, RetryOptions } from './options.ts';
export type { MessageOptions, RemoteSession } from './remote-session.ts';
export type { WatchOptions } from './watch.ts';
