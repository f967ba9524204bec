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
 * Node connections with something pending, written in arrival order, a
 * slice at a time: between slices the event loop polls I/O (posts are
 * answered, streams opened), then the next slice goes on where this one
 * stopped. A connection is in the queue at most once (its `queued` flag).
 */
export class WriteQueue {
  readonly #ready: Writer[] = [];
  #next = 0;
  #scheduled = false;
  readonly #run = () => this.#drain();

  add(connection: Writer): void {
    this.#ready.push(connection);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#run);
  }

  #drain(): void {
    const ready = this.#ready;
    const until = performance.now() + SLICE_MS;
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
      setImmediate(this.#run);
      return;
    }
    ready.length = 0;
    this.#next = 0;
    this.#scheduled = false;
  }
}
