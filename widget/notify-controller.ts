import type { ReactiveController, ReactiveControllerHost } from 'lit';

/**
 * Browser notifications for a host with a `notify` switch, as a Lit
 * `ReactiveController`: turning the switch on asks for permission (when the
 * user has not answered yet), and `show()` notifies only when it is on,
 * permission is granted and the page is hidden.
 */
export class NotifyController implements ReactiveController {
  readonly #host: ReactiveControllerHost & { notify: boolean };
  #on?: boolean;

  constructor(host: ReactiveControllerHost & { notify: boolean }) {
    this.#host = host;
    host.addController(this);
  }

  hostUpdate(): void {
    const on = this.#host.notify;
    if (on && !this.#on && globalThis.Notification?.permission === 'default') Notification.requestPermission();
    this.#on = on;
  }

  show(title: string, body?: string): void {
    if (this.#host.notify && document.hidden && globalThis.Notification?.permission === 'granted')
      new Notification(title, { body });
  }
}
