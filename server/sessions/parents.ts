/**
 * Parents and their children, for the session service: who may create a
 * child, a child's change counted in its parent (one atomic update of the
 * parent, whatever how many children it has), and a parent's cancel passed
 * on to its children.
 */
import { LiveopError } from '../core/errors.ts';
import type { StoredSession } from '../core/model.ts';
import { applyChildChange, childState, sameState } from '../core/rollup.ts';
import { isFinal } from '../core/status.ts';
import type { SessionStore } from '../store/session-store.ts';
import { authorize, type Credential } from './access.ts';
import type { FinishHooks } from './finish-hooks.ts';

/** Children cancelled at once when their parent is. */
const CANCEL_AT_ONCE = 50;
/** Children listed per page while cancelling them. */
const PAGE = 100;

export interface ParentsOptions {
  store: SessionStore;
  now: () => number;
  hooks?: FinishHooks | undefined;
}

export class Parents {
  readonly #options: ParentsOptions;

  constructor(options: ParentsOptions) {
    this.#options = options;
  }

  /**
   * The parent a new child names, once the caller may add a child to it: a
   * key of the parent's owner (or an admin, this process, open mode), or the
   * parent's reporter token, so a worker can fan out. Answers the owner and
   * subject the child gets (its parent's).
   */
  async admitChild(
    parentId: string,
    as: Credential,
    owner: string | undefined,
  ): Promise<{ owner: string | null; subject: string | undefined }> {
    if (as.kind === 'subject') throw new LiveopError('forbidden', 'a subject token cannot create sessions');
    if (as.kind === 'token' && as.sessionId !== parentId) {
      throw new LiveopError('forbidden', 'parent: a session token may create children of its own session only');
    }
    const parent = await this.#options.store.get(parentId);
    if (parent === undefined) throw new LiveopError('not_found', `parent: unknown session "${parentId}"`);
    authorize(as, 'report', parent);
    if (parent.children === undefined) {
      throw new LiveopError('invalid', 'parent: that session is not a parent (create it with expectedChildren)');
    }
    if (owner !== undefined && owner !== parent.owner) {
      throw new LiveopError('forbidden', 'parent: a child has its parent’s owner');
    }
    if (isFinal(parent, this.#options.now())) throw new LiveopError('conflict', 'parent: that session has ended');
    return { owner: parent.owner, subject: parent.subject };
  }

  /**
   * Counts a child's change (`before` null: it is new) in its parent, when
   * the parent would count it differently. A parent that is gone or has
   * ended is left as it is.
   */
  async rollUp(before: StoredSession | null, after: StoredSession): Promise<void> {
    if (after.parent === undefined) return;
    const now = this.#options.now();
    const from = before === null ? null : childState(before, now);
    const to = childState(after, now);
    if (sameState(from, to)) return;
    let was: StoredSession | null = null;
    try {
      const parent = await this.#options.store.update(after.parent, (p) => {
        was = p;
        return applyChildChange(p, from, to, now);
      });
      if (was !== null && was !== parent) this.#options.hooks?.written(was, parent);
    } catch {
      // The child's change stands whatever becomes of its parent (gone, or the store away a moment):
      // failing the child's report for it would have its reporter retry what was applied.
    }
  }

  /** Cancels every child of `parent` that has not ended, through `cancel` (the service's). */
  async cancelChildren(parent: StoredSession, cancel: (id: string) => Promise<unknown>): Promise<void> {
    if (parent.children === undefined) return;
    const now = this.#options.now();
    let cursor: string | null = null;
    do {
      const page = await this.#options.store.list({ parent: parent.id, owner: parent.owner, limit: PAGE, cursor });
      const open = page.sessions.filter((child) => !isFinal(child, now)).map((child) => child.id);
      for (let i = 0; i < open.length; i += CANCEL_AT_ONCE) {
        // One that ended meanwhile, or went away, needs no cancel.
        await Promise.all(open.slice(i, i + CANCEL_AT_ONCE).map((id) => cancel(id).catch(() => {})));
      }
      cursor = page.cursor;
    } while (cursor !== null);
  }
}
