/**
 * A store wrapper that counts `get()` calls (the reads a change costs) and,
 * like a shared store (Redis) does, passes change notifications on without
 * the session they carry, so every watcher really pays its read.
 */
import type { StoredSession } from '../../server/core/model.ts';
import type { ListOptions, SessionPage, SessionStore, StoreChange } from '../../server/store/session-store.ts';

export class CountingStore implements SessionStore {
  reads = 0;

  constructor(
    readonly inner: SessionStore,
    /** Drop the session from notifications (what a multi-instance deployment sees). @default true */
    readonly strip = true,
  ) {}

  get(id: string): Promise<StoredSession | undefined> {
    this.reads += 1;
    return this.inner.get(id);
  }

  create(session: StoredSession): Promise<void> {
    return this.inner.create(session);
  }

  update(id: string, change: (session: StoredSession) => StoredSession): Promise<StoredSession> {
    return this.inner.update(id, change);
  }

  delete(id: string): Promise<boolean> {
    return this.inner.delete(id);
  }

  list(options: ListOptions): Promise<SessionPage> {
    return this.inner.list(options);
  }

  subscribe(listener: (change: StoreChange) => void, onResync?: () => void): () => void {
    if (!this.strip) return this.inner.subscribe(listener, onResync);
    return this.inner.subscribe(({ session: _carried, ...change }) => listener(change), onResync);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
