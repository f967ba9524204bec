import type { ReactiveController, ReactiveControllerHost } from 'lit';

/**
 * The time the host renders with, as a Lit `ReactiveController`: `now` is
 * read before every update, and while `running()` says so (checked after
 * each update) the host updates every second, so elapsed time and the ETA
 * count on between snapshots. The timer stops in `hostDisconnected`.
 */
export class ClockController implements ReactiveController {
  /** `Date.now()` as of the current update (set before each). */
  declare now: number;
  readonly #host: ReactiveControllerHost;
  readonly #running: () => boolean;
  #timer?: ReturnType<typeof setInterval>;

  constructor(host: ReactiveControllerHost, running: () => boolean) {
    this.#host = host;
    this.#running = running;
    host.addController(this);
  }

  hostUpdate(): void {
    this.now = Date.now();
  }

  hostUpdated(): void {
    if (!this.#running()) this.hostDisconnected();
    else this.#timer ??= setInterval(() => this.#host.requestUpdate(), 1000);
  }

  hostDisconnected(): void {
    this.#timer = clearInterval(this.#timer) as undefined;
  }
}
