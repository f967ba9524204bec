/**
 * What a session waiting for its turn is told, whichever queue it waits in
 * (the in-process one or BullMQ's): its place in line whenever it changes,
 * and `cancelled` when it is taken off the line before it started.
 */
import type { ProgressEvent } from '../../protocol/index.ts';

/** Reports an event for a session, as the runner itself (queue positions, a cancel while waiting). */
export type Announce = (sessionId: string, events: ProgressEvent[]) => Promise<unknown>;

export class WaitingLine {
  /** The place each waiting session was last told. */
  readonly #told = new Map<string, number>();

  constructor(private readonly announce: Announce) {}

  /** Tells each session of `order` (first: the next to run) its place, when it changed; forgets those no longer in it. */
  tell(order: readonly string[]): void {
    const waiting = new Set(order);
    for (const id of this.#told.keys()) if (!waiting.has(id)) this.#told.delete(id);
    order.forEach((id, i) => {
      if (this.#told.get(id) === i + 1) return;
      this.#told.set(id, i + 1);
      void this.announce(id, [{ type: 'queued', position: i + 1 }]).catch(() => {});
    });
  }

  /** A session cancelled while it waited, now off the line: it ends `cancelled` (its turn, if it comes, starts nothing). */
  async leave(sessionId: string): Promise<void> {
    this.#told.delete(sessionId);
    await this.announce(sessionId, [{ type: 'cancelled' }]).catch(() => {});
  }
}
