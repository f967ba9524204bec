/**
 * Runs async work one at a time per key (and concurrently across keys): a
 * store's updates to one session never interleave within this process, so
 * only other instances can race it (and its compare-and-set handles those).
 */
export class PerKeyQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  /**
   * Runs `work` once everything queued before it under `key` has settled;
   * answers what `work` answers. A failure is its caller's alone: the next
   * piece of work under that key runs all the same.
   */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const run = previous.then(work);
    const settled = run.catch(() => {});
    this.#tails.set(key, settled);
    // Forget the key once its last piece of work is done, so the map stays small.
    void settled.then(() => {
      if (this.#tails.get(key) === settled) this.#tails.delete(key);
    });
    return run;
  }

  /** How many keys have work queued or running (a key is forgotten once its work is done). */
  get size(): number {
    return this.#tails.size;
  }

  /** Resolves when everything queued so far has settled. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#tails.values()]);
  }
}
