/**
 * What the sessions service knows of registered operations: enough to create
 * their sessions (the spec) and to hand them to whoever runs them (the runner,
 * server/runner/, which implements this interface).
 */
import type { z } from 'zod';

/** What the service needs to know of a registered operation to start it. */
export interface OperationSpec {
  /** Validates the JSON input (zod); invalid input is refused naming the field. */
  input?: z.ZodType;
  title?: string | ((input: never) => string);
  tasks?: Record<string, string>;
  stages?: string[];
  /**
   * How long its sessions are kept after they end, in seconds (the
   * server's `LIVEOP_TTL_SECONDS` / `sessionDefaults.ttlSeconds` otherwise).
   * @example 7 * 86_400 // a nightly import's report stays a week
   */
  ttlSeconds?: number;
  /**
   * Anyone may start it over HTTP with no credential at all (`POST
   * /operations/:name` from a button on a public page), each client address
   * within the `visitors` rate limit (10 a minute by default). Such a session
   * has no owner (admin keys list it); the visitor gets a `view+cancel`
   * viewer token and no reporter token. With a credential the usual rules
   * apply. @default false
   */
  visitors?: boolean;
}

/** Runs registered operations (the runner): the service creates their sessions, this runs them. */
export interface OperationRunner {
  /** The operation registered under `name`, if any. */
  spec(name: string): OperationSpec | undefined;
  /**
   * Starts it for a session just created for it. Resolves once it is handed
   * over (queued, or — inline — run to its end).
   */
  run(name: string, sessionId: string, input: unknown): Promise<void>;
  /** The session was cancelled: work still waiting in a queue is taken off it. */
  cancel?(sessionId: string): Promise<void>;
}
