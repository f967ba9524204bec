/**
 * An operation whose worker cannot read its session (the store is briefly
 * unavailable: Redis restarting or paused) must not take that for "deleted"
 * and end the job with nothing done: the session would wait `pending` for
 * ever. Nor should the outage use up its attempts: the worker waits for
 * the store, then runs it.
 */
import { describe, expect, it } from 'vitest';
import type { StoredSession } from '../../../server/core/model.ts';
import { createLiveop } from '../../../server/liveop.ts';
import { MemorySessionStore } from '../../../server/store/memory-store.ts';
import { StoreUnavailable } from '../../../server/store/session-store.ts';

/** A memory store whose first `reads` reads of each new session fail, as Redis's would while it restarts. */
class StoreOutAtFirstReads extends MemorySessionStore {
  readonly #failing = new Map<string, number>();

  constructor(private readonly reads: number) {
    super();
  }

  override async create(session: StoredSession): Promise<void> {
    await super.create(session);
    this.#failing.set(session.id, this.reads);
  }

  override async get(id: string): Promise<StoredSession | undefined> {
    const left = this.#failing.get(id) ?? 0;
    if (left > 0) {
      this.#failing.set(id, left - 1);
      throw new StoreUnavailable(new Error('connection lost'));
    }
    return super.get(id);
  }
}

describe('an operation whose session cannot be read when it starts', () => {
  it.each([
    ['with attempts to spare', 2],
    ['on its only attempt', 1],
  ])('waits for the store and completes %s, rather than ending with the session left pending', async (_, attempts) => {
    const liveop = createLiveop({ store: new StoreOutAtFirstReads(3), runner: 'inline' });
    let runs = 0;
    liveop.operation('import', {
      tasks: { rows: 'Import rows' },
      attempts,
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
