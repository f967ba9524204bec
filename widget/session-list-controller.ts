/**
 * `<live-operation-list>`'s link to the server, as a Lit `ReactiveController`:
 * it loads the first page of the list URL its host names (read before each
 * update: a new URL is loaded afresh, and an answer for an older one is
 * dropped), loads further pages on request, refreshes what is listed every
 * `interval()` ms while the host says something listed may still change —
 * only while the element is in the page and the tab is visible — and holds
 * the search box's debounce. In `hostDisconnected` it aborts its requests and
 * clears every timer: no fetch or timer outlives the element.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { ListedSession, SessionList } from '../protocol/index.ts';
import type { Fetch } from './shared-connection.ts';

/** `first`: a new list (replaces what is shown); `more`: the next page (appended); `refresh`: the listed ones again. */
export type LoadMode = 'first' | 'more' | 'refresh';

export interface SessionListCallbacks {
  /** The first page's URL for the host's settings (null: nothing to list), read before each update. */
  url(): string | null;
  /** The URL that lists again what is listed, or null when nothing listed may change (then no refresh). */
  refresh(): string | null;
  /** How long to wait between refreshes, in ms (0: never refresh). */
  interval(): number;
  /** A page arrived for the current URL. */
  page(page: SessionList, mode: LoadMode): void;
  /** A request failed: the HTTP status, or the browser's error message. */
  fail(reason: number | string, mode: LoadMode): void;
  /** A request went out (its mode), or none is in flight any more (undefined). */
  busy(mode: LoadMode | undefined): void;
}

/** A list request the server (or the host's backend) answered with an error status. */
class ListResponseError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** Relative ages ("3 min. ago") are redrawn this often while nothing is refreshed. */
const AGE_TICK = 30_000;

/** The server's largest page: what one refresh can list again. */
export const MAX_LIMIT = 100;

/**
 * What is listed once `page` arrived for `mode`: `first` replaces, `more`
 * appends (leaving out any already listed), `refresh` replaces too, but past
 * the server's largest page keeps the sessions one refresh cannot list again
 * (and the cursor after them).
 */
export function merge(listed: ListedSession[], cursor: string | null, page: SessionList, mode: LoadMode): SessionList {
  if (mode === 'more') {
    const seen = new Set(listed.map((s) => s.id));
    return { sessions: listed.concat(page.sessions.filter((s) => !seen.has(s.id))), cursor: page.cursor };
  }
  if (mode === 'refresh' && listed.length > MAX_LIMIT) {
    const fresh = new Set(page.sessions.map((s) => s.id));
    return { sessions: page.sessions.concat(listed.slice(MAX_LIMIT).filter((s) => !fresh.has(s.id))), cursor };
  }
  return page;
}

export class SessionListController implements ReactiveController {
  /** The host's `fetch` makes every request (a host adds credentials there). */
  readonly #host: ReactiveControllerHost & { fetch: Fetch; token?: string };
  readonly #callbacks: SessionListCallbacks;
  /** The URL whose pages are shown (undefined: none loaded yet, or the host left the page). */
  #url?: string | null;
  #connected?: boolean;
  #requests = new AbortController();
  /** The request in flight. */
  #busy?: LoadMode;
  #timer?: ReturnType<typeof setTimeout>;
  /** What `#timer` will do: refresh (true) or only redraw the ages (false). */
  #refreshing?: boolean;
  #debounce?: ReturnType<typeof setTimeout>;
  readonly #visibility = () => {
    this.#stop();
    if (document.hidden) return;
    // Back in view: what changed while the tab was hidden is fetched at once (else the ages are redrawn).
    if (this.#callbacks.refresh()) this.load('refresh');
    else this.#host.requestUpdate();
  };

  constructor(host: ReactiveControllerHost & { fetch: Fetch; token?: string }, callbacks: SessionListCallbacks) {
    this.#host = host;
    this.#callbacks = callbacks;
    host.addController(this);
  }

  hostConnected(): void {
    this.#connected = true;
    document.addEventListener('visibilitychange', this.#visibility);
    // Back in the page (after hostDisconnected forgot the URL): the next update loads it again.
    this.#host.requestUpdate();
  }

  hostDisconnected(): void {
    this.#connected = false;
    document.removeEventListener('visibilitychange', this.#visibility);
    this.#url = undefined;
    this.#abort();
    this.#stop();
    this.#debounce = clearTimeout(this.#debounce) as undefined;
  }

  hostUpdate(): void {
    const url = this.#callbacks.url();
    if (this.#connected && url !== this.#url) {
      this.#url = url;
      this.#abort();
      if (url) this.load('first');
    }
  }

  hostUpdated(): void {
    this.#schedule();
  }

  /**
   * Loads a page of the current URL (`url` defaults to it; `more` passes the
   * cursor's). A refresh in flight gives way to a load the user asked for;
   * any other request in flight makes this one a no-op.
   */
  async load(mode: LoadMode, url = mode === 'refresh' ? this.#callbacks.refresh() : this.#url): Promise<void> {
    if (!url || !this.#connected) return;
    if (this.#busy) {
      if (this.#busy !== 'refresh' || mode === 'refresh') return;
      this.#abort();
    }
    this.#stop();
    const { signal } = this.#requests;
    this.#busy = mode;
    this.#callbacks.busy(mode);
    try {
      const { token } = this.#host;
      const headers = token ? { Authorization: `Bearer ${token}` } : undefined;
      const response = await this.#host.fetch(url, headers ? { signal, headers } : { signal });
      if (!response.ok) throw new ListResponseError(response.status);
      const page = (await response.json()) as SessionList;
      // (A backend's answer of another shape, say a login page's JSON, is a failure too.)
      if (!Array.isArray(page?.sessions)) throw new Error('not a list of sessions');
      if (!signal.aborted) this.#callbacks.page(page, mode);
    } catch (error) {
      const reason =
        error instanceof ListResponseError ? error.status : error instanceof Error ? error.message : `${error}`;
      if (!signal.aborted) this.#callbacks.fail(reason, mode);
    } finally {
      if (!signal.aborted) {
        this.#busy = undefined;
        this.#callbacks.busy(undefined);
        this.#schedule();
      }
    }
  }

  /** Loads the current URL afresh, dropping any request in flight. */
  reload(): Promise<void> {
    this.#abort();
    return this.load('first');
  }

  /** Runs `action` once no other call came for `ms` (the search box's typing); 0 runs it now. */
  debounce(action: () => void, ms = 300): void {
    this.#debounce = clearTimeout(this.#debounce) as undefined;
    if (ms) this.#debounce = setTimeout(action, ms);
    else action();
  }

  #abort(): void {
    this.#requests.abort();
    this.#requests = new AbortController();
    if (this.#busy) this.#callbacks.busy(undefined);
    this.#busy = undefined;
  }

  /**
   * Keeps one timer while the element is in the page and the tab visible:
   * a refresh in `interval()` ms while something listed may change, else a
   * redraw of the ages. A timer already set for the same purpose is kept, so
   * frequent updates (an open row's stream) do not put the refresh off.
   */
  #schedule(): void {
    const refresh = !!this.#callbacks.refresh() && this.#callbacks.interval() > 0;
    if (this.#timer && refresh === this.#refreshing) return;
    this.#stop();
    if (!this.#connected || document.hidden || this.#busy) return;
    this.#refreshing = refresh;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        if (refresh) this.load('refresh');
        else this.#host.requestUpdate();
      },
      refresh ? this.#callbacks.interval() : AGE_TICK,
    );
  }

  #stop(): void {
    this.#timer = clearTimeout(this.#timer) as undefined;
  }
}
