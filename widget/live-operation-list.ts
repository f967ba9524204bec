import { html, LitElement, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import type { ListedSession } from '../protocol/index.ts';
import type * as ChildRollup from './child-rollup.ts';
import type { LiveOperationSnapshotEvent } from './events.ts';
import { allowedActions, type ListAction, parseActions, rowActions, runAction } from './list-actions.ts';
import { LiveOperationListActionEvent, LiveOperationListOpenEvent } from './list-events.ts';
import { type Acting, type Opened, type RowView, sessionRow } from './list-row.ts';
import { applySnapshot, type ListRow, type LoadMode, MAX_LIMIT, merge, removeRow } from './list-rows.ts';
import { defaultListStrings, type LiveOperationListStrings, langOf } from './list-strings.ts';
import { listUrl, parseTags, statusList } from './list-url.ts';
import { LiveOperation } from './live-operation.ts';
import { listStyles } from './live-operation-list.styles.ts';
import { SessionListController } from './session-list-controller.ts';
import type { Fetch } from './shared-connection.ts';
import { terminal } from './stream-controller.ts';
import { fill } from './strings.ts';
import { theme } from './theme.styles.ts';

/** The status filter's choices, in its order ('' is all). */
const FILTERS = ['', 'running', 'retrying', 'pending', 'complete', 'error', 'cancelled'] as const;

/** The settings that make the list URL: a change loads the list afresh. */
const QUERY = [
  'src',
  'baseUrl',
  'token',
  'parent',
  'topLevel',
  'tags',
  'operation',
  'status',
  'query',
  'since',
  'until',
  'limit',
];

/**
 * Lists the sessions of a Liveop server, newest first — title, status, a
 * bar with the percent, and age — with a status filter, a title search and
 * "Load more", narrowed by its query attributes (`parent`, `tags`,
 * `operation`, `status`, `since`, `until`). Live with no polling: it follows
 * the same query as a stream (`GET /sessions` asked for NDJSON), so a
 * session created after it opened appears at once, and listed ones change and
 * end in place. Rows cancel, restart and delete their session where the
 * list's credential allows (`actions`); a parent's row rolls up its
 * children's statuses, failures first, and opens them in a nested list; each
 * row opens its session's `<live-operation>`, live. One script tag brings
 * both elements (Lit included):
 *
 * ```html
 * <script type="module" src="https://liveop.example/widget-list.js"></script>
 * <live-operation-list src="/admin/liveop/sessions" tags="batch:b1"></live-operation-list>
 * ```
 *
 * `GET /sessions` needs an API key unless the server is in open mode, and an
 * API key must never reach a page: point `src` at your backend, which adds it.
 *
 * @tagname live-operation-list
 * @summary A live list of a Liveop server's sessions; each row opens its `<live-operation>`.
 *
 * @fires {LiveOperationListOpenEvent} live-operation-list-open - Cancelable; a row is opening its session; `detail` is the session id, `session` its entry. `preventDefault()` keeps it closed.
 * @fires {LiveOperationListActionEvent} live-operation-list-action - Cancelable; a row's `action` (`cancel`, `restart`, `delete`) was pressed; `detail` is the session id. `preventDefault()` sends nothing (call `act()` to send it later).
 *
 * @csspart base - The whole card.
 * @csspart filters - The row of filters.
 * @csspart status-label - The status filter's label.
 * @csspart status-filter - The status select.
 * @csspart search-label - The title search's label.
 * @csspart search - The title search input.
 * @csspart list - The list of sessions.
 * @csspart item - One session (also `item-open` when its progress is shown, `item-parent` for a parent).
 * @csspart row - A session's line: toggle, status, bar, percent, age, children and actions.
 * @csspart toggle - The button that shows or hides the session's live progress.
 * @csspart title - The session title (in the toggle).
 * @csspart status - The status badge.
 * @csspart bar - The progress bar's track.
 * @csspart fill - The progress bar's filled part.
 * @csspart percent - The percent label.
 * @csspart age - How long ago the session was created (a `<time>`).
 * @csspart children-toggle - A parent's button with its children's counts, which shows or hides them.
 * @csspart child-count - One count of a parent's children (also `child-error`, `child-cancelled`, `child-running`, `child-pending`, `child-complete`).
 * @csspart children - The nested `<live-operation-list>` of a parent's children.
 * @csspart action - A row's action button (also `cancel-action`, `restart-action`, `delete-action`).
 * @csspart row-problem - Why a row's action failed.
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
    parent: {},
    topLevel: { attribute: 'top-level', type: Boolean },
    tags: { converter: { fromAttribute: parseTags } },
    operation: {},
    status: {},
    query: {},
    since: {},
    until: {},
    limit: { type: Number },
    actions: {},
    noFilters: { attribute: 'no-filters', type: Boolean },
    refreshInterval: { attribute: 'refresh-interval', type: Number },
    strings: { type: Object },
    theme: { reflect: true },
    // Internal reactive state (no attribute), declared below.
    _sessions: { state: true },
    _cursor: { state: true },
    _open: { state: true },
    _busy: { state: true },
    _problem: { state: true },
    _acting: { state: true },
    _parents: { state: true },
  };

  /**
   * A list URL your backend serves (answering as `GET /sessions`, with the
   * API key added there — for a stream too, when asked with
   * `Accept: application/x-ndjson`), instead of `base-url`. The element adds
   * the query's parameters, `limit` and `cursor`; row actions go beside it
   * (`src/ID/cancel`, `src/ID/restart`, `DELETE src/ID`).
   * @example `/admin/liveop/sessions`
   * @default ''
   */
  declare src: string;

  /**
   * The Liveop server, listed at `base-url/sessions`: defaults to the page's
   * own origin. Needs open mode (no API keys) or a subject `token`; with
   * keys, use `src`.
   * @example `https://liveop.example`
   * @default ''
   */
  declare baseUrl: string;

  /**
   * A subject token (`POST /tokens`, minted by your backend with its API
   * key): the list shows that end user's sessions, sent as
   * `Authorization: Bearer`; with scope `view+cancel` its rows, and the
   * `<live-operation>` they open, may cancel. With `base-url`, a keyed
   * server needs no backend route for the list.
   * @example `eyJzdWIiOiJ1c2VyLTQyIiwib3duIjoiYWNtZSIsInNjb3BlIjoidmlldyJ9.…`
   * @default ''
   */
  declare token: string;

  /**
   * Lists only this parent's children (`?parent=`): what a parent row's
   * nested list shows.
   * @default ''
   */
  declare parent: string;

  /**
   * Lists only sessions with no parent (`?topLevel=true`): a batch shows as
   * its parent's row, whose children open in its nested list, instead of
   * every child as a row of its own.
   * @default false
   */
  declare topLevel: boolean;

  /**
   * Lists only sessions with all these tags (`?tag=key:value`, repeated): as
   * an attribute, `key:value` pairs separated by spaces; as a property, an
   * object (a value with spaces is set this way).
   * @example `batch:b1 customer:42`
   * @default {}
   */
  declare tags: Record<string, string>;

  /**
   * Lists only sessions of this registered operation (`?operation=`).
   * @example `import-csv`
   * @default ''
   */
  declare operation: string;

  /**
   * Lists only sessions in this status (`?status=`): `running`, `retrying`
   * (running a task again after a retry), `pending`, `complete`, `error` or
   * `cancelled`, or several, comma-separated (`running,pending`); '' lists
   * all. The status select sets one.
   * @default ''
   */
  declare status: string;

  /**
   * Lists only sessions whose title contains this, in any case (`?q=`). The
   * search box sets it, 300 ms after the last keystroke (at once on Enter).
   * @default ''
   */
  declare query: string;

  /**
   * Lists only sessions created at or after this time (`?since=`, ISO 8601).
   * @example `2026-12-01T00:00:00Z`
   * @default ''
   */
  declare since: string;

  /**
   * Lists only sessions created before this time (`?until=`, ISO 8601).
   * @default ''
   */
  declare until: string;

  /**
   * Sessions a page: at first and for each "Load more" (1 to 100).
   * @default 20
   */
  declare limit: number;

  /**
   * The row actions to offer, space-separated: `cancel` (a pending or
   * running session), `restart` (one that failed or was cancelled; an
   * operation's) and `delete` (one that ended). Each is shown only where the
   * list's credential allows it: all with an API key (`src`) or in open
   * mode, only `cancel` with a subject token of scope `view+cancel`. '' offers none.
   * @example `cancel`
   * @default 'cancel restart delete'
   */
  declare actions: string;

  /**
   * Hides the status filter and the title search (a parent's nested list has none).
   * @default false
   */
  declare noFilters: boolean;

  /**
   * Only where the list URL cannot stream (a backend that answers JSON to a
   * stream request, or refuses it): while a listed session is pending or
   * running, the listed sessions are fetched again this often (ms; 0 never).
   * Refreshing stops when none is, while the tab is hidden, and when the
   * element leaves the page. A list that streams never polls.
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
  private declare _sessions: ListRow[];
  /** The next page's cursor (null: no more). */
  private declare _cursor: string | null;
  /** The session whose row is open. */
  private declare _open?: Opened;
  /** What is being loaded. */
  private declare _busy?: LoadMode;
  /** Why the list cannot be loaded (none: it can). */
  private declare _problem: string;
  /** Rows whose action is in flight or failed, by session id. */
  private declare _acting: ReadonlyMap<string, Acting>;
  /** Parents whose children are shown. */
  private declare _parents: ReadonlySet<string>;

  /** The first page's URL, derived from the settings by willUpdate (before the controller reads it). */
  #url: string | null = null;
  /** The language, derived once per update. */
  #language?: string;
  /** The nested lists of the parents whose children are shown. */
  readonly #children = new Map<string, LiveOperationList>();
  /** The words of parents' children (child-rollup.ts), once a parent has shown. */
  #childRollup?: typeof ChildRollup;

  readonly #list = new SessionListController(this, {
    url: () => this.#url,
    refresh: () => this.#with({ limit: Math.min(MAX_LIMIT, Math.max(this.#limit, this._sessions.length)) }),
    changing: () => this._sessions.some((s) => !terminal(s.status)),
    interval: () => this.refreshInterval,
    page: (page, mode) => {
      this._problem = '';
      const { sessions, cursor } = merge(this._sessions, this._cursor, page, mode);
      this._sessions = sessions;
      this._cursor = cursor;
    },
    snapshot: (snapshot) => {
      const known = this._sessions.some((s) => s.id === snapshot.id);
      const rows = applySnapshot({ sessions: this._sessions, cursor: this._cursor }, snapshot);
      this._sessions = rows.sessions;
      // A session no page listed: its entry (stream URL, viewer token) comes with the next page.
      return !known && rows.sessions.some((s) => s.id === snapshot.id);
    },
    gone: (id) => this.#remove(id),
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
    this.parent = this.operation = this.since = this.until = '';
    this.tags = {};
    this.actions = 'cancel restart delete';
    this.noFilters = this.topLevel = false;
    this.limit = 20;
    this.refreshInterval = 5000;
    this.strings = {};
    this._sessions = [];
    this._cursor = null;
    this._acting = new Map();
    this._parents = new Set();
  }

  /**
   * The `fetch` the list's requests go through — pages, its stream and row
   * actions (not the opened `<live-operation>`'s: it streams with its own
   * `stream.fetch`). Replace it to add credentials for your backend's list
   * URL, or to log; keep the `headers` it is given (the stream's `Accept`).
   * A parent's nested list uses the same.
   * @example list.fetch = (url, init) => fetch(url, { ...init, headers: { ...init?.headers, 'X-CSRF-Token': csrf } });
   */
  fetch: Fetch = (input, init) => globalThis.fetch(input, init);

  /** Loads the list again from its first page (after starting an operation, say). */
  reload(): Promise<void> {
    return this.#list.reload();
  }

  /**
   * Sends a row's action for session `id` (as its button does, without the
   * `live-operation-list-action` event): resolves once the server took it,
   * the row showing it; a refusal is shown in the row.
   */
  async act(id: string, action: ListAction): Promise<void> {
    const acting = (state: Acting | undefined) => {
      const next = new Map(this._acting);
      if (state) next.set(id, state);
      else next.delete(id);
      this._acting = next;
    };
    if (this._acting.get(id)?.busy) return;
    acting({ busy: action });
    try {
      await runAction(this.fetch, this.#base(), id, action, this.#headers());
    } catch (error) {
      const reason = error instanceof Error ? error.message : `${error}`;
      acting({ error: this.#t('actionFailed', { action: this.#t(action), reason }) });
      return;
    }
    acting(undefined);
    // What the server did shows at once: the stream confirms it (or, where the list cannot stream, a reload).
    if (action === 'delete') this.#remove(id);
    if (action === 'cancel')
      this._sessions = this._sessions.map((s) => (s.id === id ? { ...s, cancelRequested: true } : s));
    if (!this.#list.live) await this.reload();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (QUERY.some((name) => changed.has(name as keyof LiveOperationList))) {
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

  /** The list URL without a query: what pages and actions hang from. */
  #base(): string {
    return new URL(this.src || `${this.baseUrl}/sessions`, document.baseURI).href;
  }

  #headers(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  /** The list URL for the current filters, with `params` (throws for a URL that is not one). */
  #with(params: { limit: number; cursor?: string }): string {
    return listUrl(this.src || `${this.baseUrl}/sessions`, document.baseURI, this, params);
  }

  #t(key: keyof LiveOperationListStrings, values: Record<string, string | number> = {}): string {
    // A status this element does not know (from a newer server) is shown as it is.
    return fill(this.strings?.[key] ?? (defaultListStrings as Partial<LiveOperationListStrings>)[key] ?? key, values);
  }

  #remove(id: string): void {
    const rows = removeRow({ sessions: this._sessions, cursor: this._cursor }, id);
    this._sessions = rows.sessions;
    if (this._open?.id === id) this._open = undefined;
  }

  /** Closes the open row, or opens this one (one at a time) unless the open event is prevented. */
  #toggle(session: ListRow): void {
    if (this._open?.id === session.id) this._open = undefined;
    // (A row the stream showed first opens once a page brought its entry.)
    else if (session.streamUrl && this.dispatchEvent(new LiveOperationListOpenEvent(session as ListedSession)))
      this._open = { id: session.id, src: session.streamUrl, token: session.viewerToken ?? '' };
  }

  #toggleChildren({ id }: ListRow): void {
    const parents = new Set(this._parents);
    if (parents.delete(id)) this.#children.delete(id);
    else parents.add(id);
    this._parents = parents;
  }

  /** The open row's stream is ahead of the list: its row shows the status and percent at once. */
  #patch({ detail }: LiveOperationSnapshotEvent): void {
    this._sessions = this._sessions.map((s) =>
      s.id === detail.id && detail.version >= s.version
        ? { ...s, status: detail.status, percent: detail.percent, version: detail.version }
        : s,
    );
  }

  /**
   * A parent's children: this element again (under its own tag), made once
   * per opening, with `parent` and the same server, credential and `fetch`.
   */
  #nested(session: ListRow): LiveOperationList {
    let list = this.#children.get(session.id);
    if (!list) {
      list = document.createElement(this.localName) as LiveOperationList;
      list.setAttribute('part', 'children');
      this.#children.set(session.id, list);
    }
    const { src, baseUrl, token, limit, actions, refreshInterval, strings, theme, fetch } = this;
    Object.assign(list, { src, baseUrl, token, limit, actions, refreshInterval, strings, theme, fetch });
    list.noFilters = true;
    list.parent = session.id;
    return list;
  }

  protected override render(): TemplateResult {
    const sessions = this._sessions;
    const busy = this._busy;
    const problem = this._problem;
    const allowed = allowedActions(parseActions(this.actions), this.token);
    const view: RowView = {
      opened: this._open,
      lang: this.#language,
      now: Date.now(),
      theme: this.theme,
      t: (key, values) => this.#t(key, values),
      toggle: (session) => this.#toggle(session),
      patch: (event) => this.#patch(event),
      actions: (session) => rowActions(allowed, session),
      acting: (session) => this._acting.get(session.id),
      act: (session, action) => {
        if (this.dispatchEvent(new LiveOperationListActionEvent(session, action))) this.act(session.id, action);
      },
      childrenOpen: (session) => this._parents.has(session.id),
      toggleChildren: (session) => this.#toggleChildren(session),
      nested: (session) => this.#nested(session),
      rollup: (children) => {
        const loaded = this.#childRollup;
        if (loaded) return loaded.rollup(children, this.strings ?? {}, fill);
        // A chunk of its own (see child-rollup.ts): loaded with the first parent, then drawn.
        import('./child-rollup.ts').then((module) => {
          this.#childRollup = module;
          this.requestUpdate();
        });
        return [];
      },
    };
    // A status the select has no option for (several, say) is shown as one more option.
    const custom = FILTERS.includes(this.status as never)
      ? []
      : [
          [
            this.status,
            statusList(this.status)
              .map((s) => this.#t(s as never))
              .join(', '),
          ],
        ];
    const options = [...FILTERS.map((s) => [s, this.#t(s || 'all')]), ...custom];
    return html`<div part="base" class="base" aria-busy=${busy === 'first'}>
      ${
        this.noFilters
          ? nothing
          : html`<div part="filters" class="filters" role="search">
        <label part="status-label" for="status">${this.#t('status')}</label>
        <select
          part="status-filter"
          id="status"
          @change=${({ target }: { target: HTMLSelectElement }) => (this.status = target.value)}
        >
          ${options.map(([s, label]) => html`<option value=${s!} ?selected=${s === this.status}>${label}</option>`)}
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
      </div>`
      }
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
