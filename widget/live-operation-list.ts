import { html, LitElement, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import type { ListedSession, SessionStatus } from '../protocol/index.ts';
import type { LiveOperationSnapshotEvent } from './events.ts';
import { LiveOperationListOpenEvent } from './list-events.ts';
import { type Opened, type RowView, sessionRow } from './list-row.ts';
import { defaultListStrings, type LiveOperationListStrings, langOf } from './list-strings.ts';
import { LiveOperation } from './live-operation.ts';
import { listStyles } from './live-operation-list.styles.ts';
import { type LoadMode, MAX_LIMIT, merge, SessionListController } from './session-list-controller.ts';
import type { Fetch } from './shared-connection.ts';
import { terminal } from './stream-controller.ts';
import { fill } from './strings.ts';
import { theme } from './theme.styles.ts';

/** The status filter's choices, in its order ('' is all). */
const FILTERS = ['', 'running', 'pending', 'complete', 'error', 'cancelled'] as const;

/**
 * Lists the sessions of a Liveop server, newest first — title, status, a
 * bar with the percent, and age — with a status filter, a title search and
 * "Load more"; refreshes itself while any listed session is pending or
 * running; each row opens its session's `<live-operation>`, live. One script
 * tag brings both elements (Lit included):
 *
 * ```html
 * <script type="module" src="https://liveop.example/widget-list.js"></script>
 * <live-operation-list src="/admin/liveop/sessions"></live-operation-list>
 * ```
 *
 * `GET /sessions` needs an API key unless the server is in open mode, and an
 * API key must never reach a page: point `src` at your backend, which adds it.
 *
 * @tagname live-operation-list
 * @summary A live list of a Liveop server's sessions; each row opens its `<live-operation>`.
 *
 * @fires {LiveOperationListOpenEvent} live-operation-list-open - Cancelable; a row is opening its session; `detail` is the session id, `session` its entry. `preventDefault()` keeps it closed.
 *
 * @csspart base - The whole card.
 * @csspart filters - The row of filters.
 * @csspart status-label - The status filter's label.
 * @csspart status-filter - The status select.
 * @csspart search-label - The title search's label.
 * @csspart search - The title search input.
 * @csspart list - The list of sessions.
 * @csspart item - One session (also `item-open` when its progress is shown).
 * @csspart row - A session's line: toggle, status, bar, percent and age.
 * @csspart toggle - The button that shows or hides the session's live progress.
 * @csspart title - The session title (in the toggle).
 * @csspart status - The status badge.
 * @csspart bar - The progress bar's track.
 * @csspart fill - The progress bar's filled part.
 * @csspart percent - The percent label.
 * @csspart age - How long ago the session was created (a `<time>`).
 * @csspart operation - The `<live-operation>` an open row shows.
 * @csspart empty - What the list says when nothing matches.
 * @csspart problem - Why the list cannot be loaded.
 * @csspart more-button - The "Load more" button.
 *
 * @cssproperty [--live-operation-font=system-ui, sans-serif] - Font family.
 * @cssproperty [--live-operation-font-size=14px] - Base font size.
 * @cssproperty [--live-operation-radius=8px] - Corner radius of the card.
 * @cssproperty [--live-operation-padding=16px] - Padding of the card.
 * @cssproperty [--live-operation-bar-height=8px] - Height of the bars.
 * @cssproperty [--live-operation-bar-color=#0969da] - Fill of running bars, focus rings.
 * @cssproperty [--live-operation-track-color=#d1d9e0] - Track of the bars.
 * @cssproperty [--live-operation-success-color=#1a7f37] - Completed bars and badges.
 * @cssproperty [--live-operation-error-color=#d1242f] - Errors.
 * @cssproperty [--live-operation-color=#1f2328] - Text.
 * @cssproperty [--live-operation-muted-color=#59636e] - Secondary text.
 * @cssproperty [--live-operation-background=#fff] - Card background.
 * @cssproperty [--live-operation-border-color=#d1d9e0] - Borders.
 */
export class LiveOperationList extends LitElement {
  /**
   * Registers the element under `tag`, and `<live-operation>` (which its rows
   * show) if it is not registered yet.
   * @example LiveOperationList.define('my-operations')
   */
  static define(
    tag = 'live-operation-list',
    registry: CustomElementRegistry = customElements,
  ): typeof LiveOperationList {
    LiveOperation.define('live-operation', registry);
    if (!registry.get(tag)) registry.define(tag, class extends LiveOperationList {});
    return LiveOperationList;
  }

  static override styles = [theme, listStyles];

  static override properties = {
    src: {},
    baseUrl: { attribute: 'base-url' },
    token: {},
    status: {},
    query: {},
    limit: { type: Number },
    refreshInterval: { attribute: 'refresh-interval', type: Number },
    strings: { type: Object },
    theme: { reflect: true },
    // Internal reactive state (no attribute), declared below.
    _sessions: { state: true },
    _cursor: { state: true },
    _open: { state: true },
    _busy: { state: true },
    _problem: { state: true },
  };

  /**
   * A list URL your backend serves (answering as `GET /sessions`, with the
   * API key added there), instead of `base-url`. The element adds `limit`,
   * `cursor`, `status` and `q` to its query.
   * @example `/admin/liveop/sessions`
   * @default ''
   */
  declare src: string;

  /**
   * The Liveop server, listed at `base-url/sessions`: defaults to the page's
   * own origin. Needs open mode (no API keys); with keys, use `src`.
   * @example `https://liveop.example`
   * @default ''
   */
  declare baseUrl: string;

  /**
   * A subject token (`POST /tokens`, minted by your backend with its API
   * key): the list shows that end user's sessions, sent as
   * `Authorization: Bearer`, and the rows it opens may cancel when the token
   * may. With `base-url`, a keyed server needs no backend route for the list.
   * @example `eyJzdWIiOiJ1c2VyLTQyIiwib3duIjoiYWNtZSIsInNjb3BlIjoidmlldyJ9.…`
   * @default ''
   */
  declare token: string;

  /**
   * Lists only sessions in this status (`?status=`): `running`, `pending`,
   * `complete`, `error` or `cancelled` ('' lists all). The status select sets it.
   * @default ''
   */
  declare status: '' | SessionStatus;

  /**
   * Lists only sessions whose title contains this, in any case (`?q=`). The
   * search box sets it, 300 ms after the last keystroke (at once on Enter).
   * @default ''
   */
  declare query: string;

  /**
   * Sessions a page: at first and for each "Load more" (1 to 100).
   * @default 20
   */
  declare limit: number;

  /**
   * While a listed session is pending or running, the listed sessions are
   * fetched again this often (ms; 0 never). Refreshing stops when none is,
   * while the tab is hidden, and when the element leaves the page.
   * @default 5000
   */
  declare refreshInterval: number;

  /**
   * Overrides for any user-visible string (see `list-strings.ts`); as an
   * attribute, JSON. The opened `<live-operation>` has its own.
   * @example `{ "more": "Mehr laden", "all": "Alle" }`
   * @default {}
   */
  declare strings: Partial<LiveOperationListStrings>;

  /**
   * `light` or `dark` forces a theme (on the opened `<live-operation>` too);
   * by default it follows `prefers-color-scheme`.
   * @default undefined
   */
  declare theme: 'light' | 'dark' | undefined;

  /** The sessions listed, newest first. */
  private declare _sessions: ListedSession[];
  /** The next page's cursor (null: no more). */
  private declare _cursor: string | null;
  /** The session whose row is open. */
  private declare _open?: Opened;
  /** What is being loaded. */
  private declare _busy?: LoadMode;
  /** Why the list cannot be loaded (none: it can). */
  private declare _problem: string;

  /** The first page's URL, derived from the settings by willUpdate (before the controller reads it). */
  #url: string | null = null;
  /** The language, derived once per update. */
  #language?: string;

  readonly #list = new SessionListController(this, {
    url: () => this.#url,
    refresh: () =>
      this._sessions.some((s) => !terminal(s.status))
        ? this.#with({ limit: Math.min(MAX_LIMIT, Math.max(this.#limit, this._sessions.length)) })
        : null,
    interval: () => this.refreshInterval,
    page: (page, mode) => {
      this._problem = '';
      const { sessions, cursor } = merge(this._sessions, this._cursor, page, mode);
      this._sessions = sessions;
      this._cursor = cursor;
    },
    fail: (reason, mode) => {
      // Refused by the server itself (not by the host's backend): it wants the API key a page must not have.
      const key = (reason === 401 || reason === 403) && !this.src && !this.token;
      this._problem = this.#t(key ? 'unauthorized' : 'failed', { reason });
      if (mode === 'first') {
        this._sessions = [];
        this._cursor = null;
      }
    },
    busy: (mode) => (this._busy = mode),
  });

  constructor() {
    super();
    this.src = this.baseUrl = this.token = this.status = this.query = this._problem = '';
    this.limit = 20;
    this.refreshInterval = 5000;
    this.strings = {};
    this._sessions = [];
    this._cursor = null;
  }

  /**
   * The `fetch` the list's requests go through (not the opened
   * `<live-operation>`'s: it streams with its own `stream.fetch`). Replace it
   * to add credentials for your backend's list URL, or to log.
   * @example list.fetch = (url, init) => fetch(url, { ...init, headers: { 'X-CSRF-Token': csrf } });
   */
  fetch: Fetch = (input, init) => globalThis.fetch(input, init);

  /** Loads the list again from its first page (after starting an operation, say). */
  reload(): Promise<void> {
    return this.#list.reload();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (
      changed.has('src') ||
      changed.has('baseUrl') ||
      changed.has('token') ||
      changed.has('status') ||
      changed.has('query') ||
      changed.has('limit')
    ) {
      try {
        this.#url = this.#with({ limit: this.#limit });
      } catch {
        this.#url = null;
        this._problem = this.#t('failed', { reason: 'src' });
      }
    }
    this.#language = langOf(this);
  }

  get #limit(): number {
    return Math.min(MAX_LIMIT, Math.max(1, Math.trunc(this.limit) || 20));
  }

  /** The list URL for the current filters, with `params` (throws for a URL that is not one). */
  #with(params: Record<string, string | number>): string {
    const url = new URL(this.src || `${this.baseUrl}/sessions`, document.baseURI);
    const query = this.query.trim();
    if (this.status) url.searchParams.set('status', this.status);
    if (query) url.searchParams.set('q', query);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, `${value}`);
    return url.href;
  }

  #t(key: keyof LiveOperationListStrings, values: Record<string, string | number> = {}): string {
    // A status this element does not know (from a newer server) is shown as it is.
    return fill(this.strings?.[key] ?? defaultListStrings[key] ?? key, values);
  }

  /** Closes the open row, or opens this one (one at a time) unless the open event is prevented. */
  #toggle(session: ListedSession): void {
    const event = new LiveOperationListOpenEvent(session); // (declared with @fires above)
    if (this._open?.id === session.id) this._open = undefined;
    else if (this.dispatchEvent(event))
      this._open = { id: session.id, src: session.streamUrl, token: session.viewerToken };
  }

  /** The open row's stream is ahead of the last refresh: its row shows the status and percent at once. */
  #patch({ detail }: LiveOperationSnapshotEvent): void {
    this._sessions = this._sessions.map((s) =>
      s.id === detail.id && detail.version >= s.version
        ? { ...s, status: detail.status, percent: detail.percent, version: detail.version }
        : s,
    );
  }

  protected override render(): TemplateResult {
    const sessions = this._sessions;
    const busy = this._busy;
    const problem = this._problem;
    const view: RowView = {
      opened: this._open,
      lang: this.#language,
      now: Date.now(),
      theme: this.theme,
      t: (key, values) => this.#t(key, values),
      toggle: (session) => this.#toggle(session),
      patch: (event) => this.#patch(event),
    };
    return html`<div part="base" class="base" aria-busy=${busy === 'first'}>
      <div part="filters" class="filters" role="search">
        <label part="status-label" for="status">${this.#t('status')}</label>
        <select
          part="status-filter"
          id="status"
          @change=${({ target }: { target: HTMLSelectElement }) => (this.status = target.value as SessionStatus)}
        >
          ${FILTERS.map((s) => html`<option value=${s} ?selected=${s === this.status}>${this.#t(s || 'all')}</option>`)}
        </select>
        <label part="search-label" for="search">${this.#t('search')}</label>
        <input
          part="search"
          id="search"
          type="search"
          .value=${this.query}
          @input=${({ target }: { target: HTMLInputElement }) => this.#list.debounce(() => (this.query = target.value))}
          @change=${({ target }: { target: HTMLInputElement }) => this.#list.debounce(() => (this.query = target.value), 0)}
        />
      </div>
      ${problem ? html`<p part="problem" class="problem" role="alert">${problem}</p>` : nothing}
      ${
        sessions.length
          ? html`<ul part="list">
            ${repeat(
              sessions,
              (session) => session.id,
              (session) => sessionRow(session, view),
            )}
          </ul>`
          : problem
            ? nothing
            : html`<p part="empty" class="empty">${this.#t(busy === 'first' ? 'loading' : 'empty')}</p>`
      }
      ${
        this._cursor
          ? html`<button part="more-button" class="more" aria-disabled=${busy === 'more'} @click=${() => this.#list.load('more', this.#with({ limit: this.#limit, cursor: this._cursor! }))}>
            ${this.#t(busy === 'more' ? 'loading' : 'more')}
          </button>`
          : nothing
      }
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'live-operation-list': LiveOperationList;
  }
}
