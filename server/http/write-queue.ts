/**
 * The queue the direct Node transport writes from (server/http/stream-response.ts):
 * connections with something pending, in slices of a few milliseconds, so the
 * fan-out of a burst never holds the event loop while posts wait.
 */
import { performance } from 'node:perf_hooks';

/** A connection with something to write. */
export interface Writer {
  /** Writes everything pending. */
  write(): void;
}

/** How long one slice of writes may hold the event loop before I/O gets a turn. */
const SLICE_MS = 3;
/**
 * Other work that took the event loop longer than this since the queue's last
 * turn (requests read and answered, a burst of changes made into lines) says
 * more may be on its way: the next slice waits for a quiet turn…
 */
const BUSY_MS = 0.3;
/** …for this long at most, so the fan-out keeps a share under any load. */
const MAX_WAIT_MS = 15;

/**
 * Node connections with something pending, written in arrival order, a
 * slice at a time: between slices the event loop polls I/O (posts are
 * answered, streams opened), then the next slice goes on where this one
 * stopped. A connection is in the queue at most once (its `queued` flag).
 */
export class WriteQueue {
  readonly #ready: Writer[] = [];
  #next = 0;
  #scheduled = false;
  /** When the queue last had the event loop (or was given its first connection). */
  #lastTurn = 0;
  /** Since when the queue has been letting other work go first (0: it is not). */
  #waitingSince = 0;
  readonly #run = () => this.#drain();

  add(connection: Writer): void {
    this.#ready.push(connection);
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#lastTurn = performance.now();
    setImmediate(this.#run);
  }

  #drain(): void {
    const now = performance.now();
    // A burst of posts is answered before its fan-out is written: the answers
    // wait on nothing but each other, and the lines are not much later — the
    // posts' work comes before most of them either way.
    if (now - this.#lastTurn > BUSY_MS) {
      if (this.#waitingSince === 0) this.#waitingSince = now;
      if (now - this.#waitingSince < MAX_WAIT_MS) {
        this.#lastTurn = now;
        setImmediate(this.#run);
        return;
      }
    }
    this.#waitingSince = 0;
    const ready = this.#ready;
    const until = now + SLICE_MS;
    let i = this.#next;
    while (i < ready.length) {
      ready[i++]!.write();
      if ((i & 15) === 0 && performance.now() >= until) break;
    }
    if (i < ready.length) {
      // More than a slice: the rest after I/O. Forget the written ones now and then.
      if (i > 4_096) {
        ready.splice(0, i);
        i = 0;
      }
      this.#next = i;
      this.#lastTurn = performance.now();
      setImmediate(this.#run);
      return;
    }
    ready.length = 0;
    this.#next = 0;
    this.#scheduled = false;
  }
}
