/**
 * Completion hooks (django-user-tasks' `user_task_stopped`): when a session
 * ends, its operation's `onFinish`, the global `onFinish` and the session's
 * webhook are told, once, with the final snapshot. A failing hook is logged
 * and never changes the session.
 *
 * Who tells: the instance whose write ended the session (the store's
 * compare-and-set makes that write one of a kind). A session that ends by the
 * clock — an unanswered cancel, a silent worker — is
 * told by the instance that wrote it last, when that time comes; if that
 * instance has stopped by then, nobody tells (see docs/protocol.md).
 */

import type { Snapshot } from '../../protocol/index.ts';
import type { StoredSession } from '../core/model.ts';
import { toSnapshot } from '../core/snapshot.ts';
import { endsByClockAt, isFinal } from '../core/status.ts';
import type { SessionStore } from '../store/session-store.ts';

export interface FinishHooksOptions {
  store: SessionStore;
  now: () => number;
  /** The operation's own hook, by operation name. */
  operationHook: (name: string) => ((snapshot: Snapshot) => unknown) | undefined;
  /** The global hook. */
  onFinish?: (snapshot: Snapshot) => unknown;
  /** Delivers the session's webhook (queued, signed, retried). */
  webhook?: (url: string, snapshot: Snapshot) => Promise<void>;
  /** @default console.warn */
  log?: (message: string) => void;
}

/** The longest a timer may wait (setTimeout's limit); longer waits re-arm. */
const MAX_WAIT = 2 ** 31 - 1;

export class FinishHooks {
  readonly #options: FinishHooksOptions;
  /** One timer per session this instance wrote last and that may end by the clock. */
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #told = new Set<string>();

  constructor(options: FinishHooksOptions) {
    this.#options = options;
  }

  /** This instance wrote `after` over `before`: tell now, or when the clock may end it. */
  written(before: StoredSession | null, after: StoredSession): void {
    if (!this.#wanted(after)) return;
    const now = this.#options.now();
    clearTimeout(this.#timers.get(after.id));
    this.#timers.delete(after.id);
    if (before !== null && isFinal(before, now)) return; // ended before this write: told then
    if (isFinal(after, now)) {
      void this.#tell(after.id);
      return;
    }
    const at = endsByClockAt(after);
    const timer = setTimeout(
      () => void this.#whenDue(after.id, after.version),
      Math.min(MAX_WAIT, Math.max(0, at - now + 5)),
    );
    timer.unref();
    this.#timers.set(after.id, timer);
  }

  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #wanted(session: StoredSession): boolean {
    return (
      this.#options.onFinish !== undefined ||
      session.webhook !== undefined ||
      (session.operation !== undefined && this.#options.operationHook(session.operation.name) !== undefined)
    );
  }

  /** The time has come: tell, if this instance's write is still the last and the session has ended. */
  async #whenDue(id: string, version: number): Promise<void> {
    this.#timers.delete(id);
    const session = await this.#options.store.get(id).catch(() => undefined);
    if (session === undefined || session.version !== version) return; // gone, or someone wrote since: theirs
    if (!isFinal(session, this.#options.now())) return this.written(null, session);
    await this.#tell(id, session);
  }

  async #tell(id: string, known?: StoredSession): Promise<void> {
    if (this.#told.has(id)) return;
    if (this.#told.size >= 10_000) this.#told.clear();
    this.#told.add(id);
    const log = this.#options.log ?? ((message) => console.warn(message));
    const session = known ?? (await this.#options.store.get(id).catch(() => undefined));
    if (session === undefined) return;
    const snapshot = toSnapshot(session, this.#options.now());
    const hooks = [
      session.operation ? this.#options.operationHook(session.operation.name) : undefined,
      this.#options.onFinish,
    ].filter((hook) => hook !== undefined);
    for (const hook of hooks) {
      try {
        await hook(snapshot);
      } catch (error) {
        log(
          `liveop: an onFinish hook for session ${id} failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    if (session.webhook && this.#options.webhook) {
      await this.#options.webhook(session.webhook, snapshot).catch((error: unknown) => {
        log(
          `liveop: the webhook of session ${id} was not delivered: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
    }
  }
}
