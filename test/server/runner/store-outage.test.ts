/**
 * An operation whose worker cannot read its session (the store is briefly
 * unavailable: Redis restarting or paused) must not take that for "deleted"
 * and end the job with nothing done: the session would wait `pending` for
 * ever. The attempt fails instead, and the next one runs it.
 */
import { describe, expect, it } from 'vitest';
import type { StoredSession } from '../../../server/core/model.ts';
import { createLiveop } from '../../../server/liveop.ts';
import { MemorySessionStore } from '../../../server/store/memory-store.ts';
import { StoreUnavailable } from '../../../server/store/session-store.ts';

/** A memory store whose first read of each new session fails, as Redis's would while it restarts. */
class StoreOutAtFirstRead extends MemorySessionStore {
  readonly #failing = new Set<string>();

  override async create(session: StoredSession): Promise<void> {
    await super.create(session);
    this.#failing.add(session.id);
  }

  override async get(id: string): Promise<StoredSession | undefined> {
    if (this.#failing.delete(id)) throw new StoreUnavailable(new Error('connection lost'));
    return super.get(id);
  }
}

describe('an operation whose session cannot be read when it starts', () => {
  it('runs on its next attempt and completes, rather than ending with the session left pending', async () => {
    const liveop = createLiveop({ store: new StoreOutAtFirstRead(), runner: 'inline' });
    let runs = 0;
    liveop.operation('import', {
      tasks: { rows: 'Import rows' },
      attempts: 2,
      backoff: { type: 'fixed', delayMs: 0 },
      run: async (task) => {
        runs += 1;
        task.result({ imported: 3 });
      },
    });
    try {
      const created = await liveop.start('import', {});
      const snapshot = await liveop.snapshot(created.id);
      expect({ runs, status: snapshot.status, result: snapshot.result }).toEqual({
        runs: 1,
        status: 'complete',
        result: { imported: 3 },
      });
    } finally {
      await liveop.close();
    }
  });
});
