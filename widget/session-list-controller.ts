/**
 * `<live-operation-list>`'s link to the server, as a Lit `ReactiveController`:
 * it loads the first page of the list URL its host names (read before each
 * update: a new URL is loaded afresh, and an answer for an older one is
 * dropped), then follows the same URL as a live stream (list-stream.ts), so
 * sessions appear, change and end on the list with no polling; it loads
 * further pages on request, and the listed ones again when the stream shows
 * a session no page has listed yet (for its entry) or comes back after a
 * break. Only where the URL does not stream does it refresh what is listed
 * every `interval()` ms while something listed may still change — while the
 * element is in the page and the tab is visible. It holds the search box's
 * debounce. In `hostDisconnected` it closes the stream, aborts its requests
 * and clears every timer: no fetch or timer outlives the element.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { SessionList, Snapshot } from '../protocol/index.ts';
import type { LoadMode } from './list-rows.ts';
import { ListStream } from './list-stream.ts';
import type { Fetch } from './shared-connection.ts';

export interface SessionListCallbacks {
  /** The first page's URL for the host's settings (null: nothing to list), read before each update. */
  url(): string | null;
  /** The URL that lists again what is listed (`limit` raised to cover it). */
  refresh(): string | null;
  /** Whether something listed may still change: only then does a list that cannot stream refresh. */
  changing(): boolean;
  /** How long to wait between refreshes where the list cannot stream, in ms (0: never refresh). */
  interval(): number;
  /** A page arrived for the current URL. */
  page(page: SessionList, mode: LoadMode): void;
  /** The stream sent a session's snapshot: answers whether it is one no page has listed (then one is asked for). */
  snapshot(snapshot: Snapshot): boolean;
  /** The stream says a listed session was deleted or expired. */
  gone(id: string): void;
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
  /** A refresh was asked for while another request was in flight: it runs once that one is done. */
  #again?: boolean;
  /** The live stream of the current URL (none: not opened yet, or it cannot stream). */
  #stream?: ListStream;
  /** The current URL cannot stream: what is listed is refreshed instead. */
  #polling?: boolean;
  #timer?: ReturnType<typeof setTimeout>;
  /** What `#timer` will do: refresh (true) or only redraw the ages (false). */
  #refreshing?: boolean;
  #debounce?: ReturnType<typeof setTimeout>;
  readonly #visibility = () => {
    this.#stop();
    if (document.hidden) return;
    // Back in view: what changed while the tab was hidden is fetched at once (else the ages are redrawn).
    if (this.#polls()) this.load('refresh');
    else this.#host.requestUpdate();
  };

  constructor(host: ReactiveControllerHost & { fetch: Fetch; token?: string }, callbacks: SessionListCallbacks) {
    this.#host = host;
    this.#callbacks = callbacks;
    host.addController(this);
  }

  /** Whether the list is followed by a live stream now. */
  get live(): boolean {
    return !!this.#stream && !this.#stream.closed;
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
    this.#close();
    this.#stop();
    this.#debounce = clearTimeout(this.#debounce) as undefined;
  }

  hostUpdate(): void {
    const url = this.#callbacks.url();
    if (this.#connected && url !== this.#url) {
      this.#url = url;
      this.#abort();
      this.#close();
      if (url) this.load('first');
    }
  }

  hostUpdated(): void {
    this.#schedule();
  }

  /**
   * Loads a page of the current URL (`url` defaults to it; `more` passes the
   * cursor's). A refresh in flight gives way to a load the user asked for; a
   * refresh asked for during another request runs after it; any other
   * request in flight makes this one a no-op.
   */
  async load(mode: LoadMode, url = mode === 'refresh' ? this.#callbacks.refresh() : this.#url): Promise<void> {
    if (!url || !this.#connected) return;
    if (this.#busy) {
      if (mode === 'refresh') this.#again = true;
      if (this.#busy !== 'refresh' || mode === 'refresh') return;
      this.#abort();
    }
    this.#stop();
    const { signal } = this.#requests;
    this.#busy = mode;
    this.#callbacks.busy(mode);
    let loaded = false;
    try {
      const response = await this.#host.fetch(url, { signal, headers: this.#headers() });
      if (!response.ok) throw new ListResponseError(response.status);
      const page = (await response.json()) as SessionList;
      // (A backend's answer of another shape, say a login page's JSON, is a failure too.)
      if (!Array.isArray(page?.sessions)) throw new Error('not a list of sessions');
      if (!signal.aborted) this.#callbacks.page(page, mode);
      loaded = true;
    } catch (error) {
      const reason =
        error instanceof ListResponseError ? error.status : error instanceof Error ? error.message : `${error}`;
      if (!signal.aborted) this.#callbacks.fail(reason, mode);
    } finally {
      if (!signal.aborted) {
        this.#busy = undefined;
        this.#callbacks.busy(undefined);
        // The list is shown: from now on the stream keeps it current (after "Load more", what it lists now).
        if (loaded && mode !== 'refresh') this.#open(mode === 'more' ? this.#callbacks.refresh() : this.#url);
        if (this.#again) {
          this.#again = false;
          this.load('refresh');
        } else this.#schedule();
      }
    }
  }

  /** Loads the current URL afresh, dropping any request in flight (the stream stays). */
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

  #headers(): Record<string, string> {
    const { token } = this.#host;
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  /** Follows `url` (the current query) live, unless it is followed already (or cannot be). */
  #open(url: string | null | undefined): void {
    if (!url || this.#polling || this.#stream?.url === url) return;
    this.#close();
    this.#stream = new ListStream(url, this.#host.fetch, () => this.#headers(), {
      snapshot: (snapshot) => {
        if (this.#callbacks.snapshot(snapshot)) this.load('refresh');
      },
      gone: (id) => this.#callbacks.gone(id),
      // Deletions while no connection was open, and rows' entries: the listed ones again.
      resumed: () => this.load('refresh'),
      unavailable: () => {
        this.#polling = true;
        this.#schedule();
      },
    });
  }

  #close(): void {
    this.#stream?.close();
    this.#stream = undefined;
    this.#polling = false;
  }

  #abort(): void {
    this.#requests.abort();
    this.#requests = new AbortController();
    if (this.#busy) this.#callbacks.busy(undefined);
    this.#busy = undefined;
    this.#again = false;
  }

  /** Whether what is listed is to be fetched again by timer: the URL cannot stream and something may change. */
  #polls(): boolean {
    return !!this.#polling && this.#callbacks.changing() && this.#callbacks.interval() > 0;
  }

  /**
   * Keeps one timer while the element is in the page and the tab visible:
   * where the list cannot stream, a refresh in `interval()` ms while
   * something listed may change; else a redraw of the ages. A timer already
   * set for the same purpose is kept, so frequent updates (an open row's
   * stream) do not put the refresh off.
   */
  #schedule(): void {
    const refresh = this.#polls();
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
