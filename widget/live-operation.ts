import { html, LitElement, nothing, type PropertyValues, type TemplateResult } from 'lit';
import {
  CLOSING_RAMP_MS,
  type LogEntry,
  type SessionLine,
  type Snapshot,
  scopeAllows,
  scopeOf,
  sessionUrl,
} from '../protocol/index.ts';
import { ClockController } from './clock-controller.ts';
import { ContentController } from './content-controller.ts';
import {
  type ConnectionState,
  LiveOperationCancelEvent,
  LiveOperationConnectionEvent,
  LiveOperationSnapshotEvent,
  type SnapshotEventName,
} from './events.ts';
import { styles } from './live-operation.styles.ts';
import { LocaleController } from './locale-controller.ts';
import {
  type BarView,
  type OperationView,
  operationView,
  type Progress,
  type TaskView,
  track,
} from './operation-view.ts';
import { StreamController, type StreamSource, sourceFromUrl, terminal } from './stream-controller.ts';
import { defaultStrings, format, type LiveOperationStrings, translate } from './strings.ts';
import { theme } from './theme.styles.ts';

/** Whether a token's scope allows cancelling, read from its payload. The server still enforces it. */
function mayCancel(token: string): boolean {
  const scope = scopeOf(token);
  return scope !== null && scopeAllows(scope, 'cancel');
}

/**
 * Shows a Liveop session live: title, overall and per-task progress, stages,
 * messages, log, elapsed time and ETA, the result or the error, and a cancel
 * button when the token allows it. Drop it on any page:
 *
 * ```html
 * <script type="module" src="https://liveop.example/widget.js"></script>
 * <live-operation src="https://liveop.example/sessions/ID/stream" token="…"></live-operation>
 * ```
 *
 * @tagname live-operation
 * @summary Live progress of one long-running operation, streamed from a Liveop server.
 *
 * @fires {LiveOperationSnapshotEvent} live-operation-update - A new snapshot arrived; `detail` is the snapshot.
 * @fires {LiveOperationSnapshotEvent} live-operation-complete - The session completed (with no `next`); `detail` is the final snapshot.
 * @fires {LiveOperationSnapshotEvent} live-operation-error - The session failed (with no `next`); `detail.error.message` says why.
 * @fires {LiveOperationSnapshotEvent} live-operation-cancelled - The session ended cancelled (with no `next`).
 * @fires {LiveOperationSnapshotEvent} live-operation-chain - The session ended with a `next` session (a chain, or a failed or cancelled session restarted), which the element now follows (`detail.next`).
 * @fires {LiveOperationConnectionEvent} live-operation-connection - The connection changed state; `detail` is `connecting`, `live`, `reconnecting`, `polling` or `closed`.
 * @fires {LiveOperationCancelEvent} live-operation-cancel - Cancelable; fired before the cancel request, `preventDefault()` stops it.
 *
 * @slot result - Replaces the default key/value list of the session's result. A `<template slot="result">` instead renders the result through it: each element with `data-field="name"` gets that field as text, one with `data-href="name"` its http(s) URL as `href`.
 * @slot item - A `<template slot="item">`: each log entry that carries `data` is rendered through it (as for `result`; `line` and `at` are fields too), in the `items` slot.
 * @slot outputs - Where the page places output streams: an element with `stream="NAME"` in it shows that stream's text, grown in place.
 *
 * @csspart base - The whole card.
 * @csspart header - The title and status badge row.
 * @csspart title - The session title.
 * @csspart status - The status badge.
 * @csspart overall - The overall bar with its percent.
 * @csspart bar - Every progress bar's track (also `overall-bar`, `task-bar`).
 * @csspart fill - Every progress bar's filled part.
 * @csspart percent - Every percent label (also `overall-percent`, `task-percent`).
 * @csspart stages - The stage stepper.
 * @csspart stage - One stage (also `stage-pending`, `stage-active`, `stage-done`, `stage-failed`, `stage-cancelled`).
 * @csspart tasks - The list of tasks.
 * @csspart task - One task row.
 * @csspart task-icon - A task's status icon.
 * @csspart task-name - A task's name.
 * @csspart task-detail - A task's steps, message, retry count and stalled note.
 * @csspart message - The latest status message.
 * @csspart meta - Elapsed time, ETA and connection state.
 * @csspart problem - The error, or why the session cannot be shown.
 * @csspart result - The result and artifacts.
 * @csspart result-list - The default key/value list of the result.
 * @csspart artifacts - The list of artifacts.
 * @csspart artifact - One artifact link.
 * @csspart actions - The cancel controls.
 * @csspart cancel-button - The cancel button.
 * @csspart confirm-button - The button that confirms cancelling.
 * @csspart keep-button - The button that dismisses the confirmation.
 * @csspart children - A parent's children in words, failures first ("1 failed · 2 running · 1 of 4 complete").
 * @csspart child-count - One count of them (also `child-error`, `child-cancelled`, `child-running`, `child-pending`, `child-complete`).
 * @csspart outputs - The output streams and items.
 * @csspart output - One output stream the page did not place (also `output-NAME`).
 * @csspart log - The log panel.
 * @csspart log-toggle - The button that shows or hides the log.
 * @csspart log-lines - The list of log lines.
 * @csspart log-line - One log line.
 *
 * @cssproperty [--live-operation-font=system-ui, sans-serif] - Font family.
 * @cssproperty [--live-operation-font-size=14px] - Base font size.
 * @cssproperty [--live-operation-radius=8px] - Corner radius of the card.
 * @cssproperty [--live-operation-padding=16px] - Padding of the card.
 * @cssproperty [--live-operation-bar-height=8px] - Height of the progress bars.
 * @cssproperty [--live-operation-bar-color=#0969da] - Fill of running bars, links, focus rings.
 * @cssproperty [--live-operation-track-color=#d1d9e0] - Track of the bars.
 * @cssproperty [--live-operation-success-color=#1a7f37] - Completed bars and icons.
 * @cssproperty [--live-operation-error-color=#d1242f] - Errors.
 * @cssproperty [--live-operation-warning-color=#9a6700] - Warnings and stalled tasks.
 * @cssproperty [--live-operation-color=#1f2328] - Text.
 * @cssproperty [--live-operation-muted-color=#59636e] - Secondary text.
 * @cssproperty [--live-operation-background=#fff] - Card background.
 * @cssproperty [--live-operation-subtle-background=#f6f8fa] - Result, log and error panels.
 * @cssproperty [--live-operation-border-color=#d1d9e0] - Borders.
 */
export class LiveOperation extends LitElement {
  /**
   * Registers the element under `tag` (once; a subclass per tag, so one page
   * may use several tags).
   * @example LiveOperation.define('my-progress')
   */
  static define(tag = 'live-operation', registry: CustomElementRegistry = customElements): typeof LiveOperation {
    if (!registry.get(tag)) registry.define(tag, class extends LiveOperation {});
    return LiveOperation;
  }

  static override styles = [theme, styles];

  static override properties = {
    src: {},
    token: {},
    sessionId: { attribute: 'session-id' },
    baseUrl: { attribute: 'base-url' },
    cancelable: { type: Boolean },
    notify: { type: Boolean },
    logOrder: { attribute: 'log-order' },
    logMode: { attribute: 'log-mode' },
    logOpen: { attribute: 'log-open', type: Boolean },
    maxLogLines: { attribute: 'max-log-lines', type: Number },
    strings: { type: Object },
    theme: { reflect: true },
    // Internal reactive state (no attribute), declared below.
    _snapshot: { state: true },
    _logs: { state: true },
    _progress: { state: true },
    _etaAt: { state: true },
    _announcement: { state: true },
    _problem: { state: true },
    _connection: { state: true },
    _unreachable: { state: true },
    _confirming: { state: true },
    _cancelling: { state: true },
    _cancelError: { state: true },
  };

  /**
   * The session's stream URL, as `POST /sessions` answers it in `streamUrl`
   * (a `?token=` in it works too).
   * @example `https://liveop.example/sessions/3kTq…/stream`
   * @default ''
   */
  declare src: string;

  /**
   * The viewer token. A token with cancel scope shows the cancel button.
   * @default ''
   */
  declare token: string;

  /**
   * The session id, instead of `src` (with `base-url`).
   * @default ''
   */
  declare sessionId: string;

  /**
   * The Liveop server, for `session-id`: defaults to the page's own origin.
   * @example `https://liveop.example`
   * @default ''
   */
  declare baseUrl: string;

  /**
   * Shows the cancel button even when the token's scope does not say it may
   * cancel (the server still decides).
   * @default false
   */
  declare cancelable: boolean;

  /**
   * Asks for permission to notify, and shows a browser notification when the
   * operation finishes while the tab is hidden.
   * @default false
   */
  declare notify: boolean;

  /**
   * Order of the log lines: `oldest-first`, or `newest-first` (pluto-rt's reverse mode).
   * @default 'oldest-first'
   */
  declare logOrder: 'oldest-first' | 'newest-first';

  /**
   * `all` keeps a scrolling log; `latest` shows only the newest line (pluto-rt's replace mode).
   * @default 'all'
   */
  declare logMode: 'all' | 'latest';

  /**
   * Whether the log panel is expanded.
   * @default false
   */
  declare logOpen: boolean;

  /**
   * How many log lines the element keeps in the DOM (the oldest go first; 0 keeps all).
   * @default 500
   */
  declare maxLogLines: number;

  /**
   * Overrides for any user-visible string (see `strings.ts`); as an attribute, JSON.
   * @example `{ "cancel": "Abbrechen", "complete": "Fertig" }`
   * @default {}
   */
  declare strings: Partial<LiveOperationStrings>;

  /**
   * `light` or `dark` forces a theme; by default it follows `prefers-color-scheme`.
   * @default undefined
   */
  declare theme: 'light' | 'dark' | undefined;

  /** The connection to the server; replace `stream.fetch` to add headers or log requests. */
  readonly stream = new StreamController(this, {
    source: () => this.#source,
    line: (line) => this.#receive(line),
    // The element's words for the refusal's code, else for its status, else `failed`.
    fail: (status, code = '') =>
      (this._problem = this.#t(
        (code in defaultStrings ? code : status in defaultStrings ? status : 'failed') as keyof LiveOperationStrings,
        { reason: status },
      )),
    state: (state, unreachable) => {
      this._unreachable = unreachable;
      if (state !== this._connection) {
        this._connection = state;
        this.dispatchEvent(new LiveOperationConnectionEvent(state));
      }
    },
  });

  /** Elapsed time and the ETA count on between snapshots, while the session runs. */
  readonly #clock = new ClockController(
    this,
    () => this.isConnected && this._snapshot?.status === 'running' && !this._problem,
  );
  /** Output streams, items and the result through the page's templates. */
  readonly #content = new ContentController(this, () => this.maxLogLines);
  /** The shipped words for the element's language. */
  readonly #locale = new LocaleController(this, () => this.#pageLanguage);

  /** The latest snapshot. */
  private declare _snapshot?: Snapshot;
  /** The log lines kept, oldest first. */
  private declare _logs: LogEntry[];
  /** The bars as shown so far (see `track`): they never go back within a stage and an attempt. */
  private declare _progress?: Progress;
  /** When the ETA runs out (`etaMs` after the snapshot arrived). */
  private declare _etaAt?: number;
  /** What the polite live region says. */
  private declare _announcement?: string;
  /** Why the session cannot be shown (none: it can). */
  private declare _problem?: string;
  private declare _connection?: ConnectionState;
  /** The connection's last attempts got no answer. */
  private declare _unreachable?: boolean;
  /** The cancel button asks for confirmation. */
  private declare _confirming?: boolean;
  /** The cancel request went out. */
  private declare _cancelling?: boolean;
  private declare _cancelError?: string;

  /**
   * The session to watch, derived from `src`, `token`, `session-id` and
   * `base-url` (set by the first update's willUpdate, before the stream
   * controller reads it).
   */
  #source: StreamSource | null = null;
  #ended?: string;
  /**
   * The closing ramp (docs/protocol.md): while a bar that just reached 100
   * eases there (its fill's CSS transition), the rest is drawn from the
   * snapshot shown before, so "complete" shows once the bar has arrived.
   */
  #closing?: Snapshot;
  #closingTimer?: ReturnType<typeof setTimeout>;
  /** The last quarter announced (reset when a session's first snapshot arrives). */
  #milestone = 0;
  /** The user scrolled the log away from its tail: stop following it. */
  #scrolledAway?: boolean;

  constructor() {
    super();
    this.src = this.token = this.sessionId = this.baseUrl = '';
    this.cancelable = this.notify = this.logOpen = false;
    this.logOrder = 'oldest-first';
    this.logMode = 'all';
    this.maxLogLines = 500;
    this.strings = {};
    this._logs = [];
  }

  /**
   * The latest snapshot. Set it to feed the element yourself (no connection
   * needed): log lines are appended by `seq`, events fire as from a stream.
   */
  get snapshot(): Snapshot | undefined {
    return this._snapshot;
  }
  set snapshot(snapshot: Snapshot | undefined) {
    if (snapshot) this.#receive(snapshot);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('src') || changed.has('token') || changed.has('sessionId') || changed.has('baseUrl')) {
      const src = this.src || (this.sessionId && sessionUrl(this.baseUrl, this.sessionId));
      this.#source = src ? sourceFromUrl(src, this.token, document.baseURI) : null;
      this._problem = src && !this.#source ? this.#t('failed', { reason: 'src' }) : '';
    }
  }

  protected override updated(changed: PropertyValues<this>): void {
    // Turning `notify` on asks for permission (once the user has not answered yet); the code is a chunk of its own.
    if (changed.has('notify') && this.notify) import('./notify.ts').then(({ ask }) => ask());
    const lines = this.renderRoot.querySelector('ol.lines');
    if (lines && !this.#scrolledAway) lines.scrollTop = this.logOrder === 'newest-first' ? 0 : lines.scrollHeight;
  }

  /** The page's language where the element sits (undefined: the browser's). */
  get #pageLanguage(): string | undefined {
    try {
      return Intl.getCanonicalLocales(this.closest<HTMLElement>('[lang]')?.lang || [])[0];
    } catch {
      return undefined;
    }
  }

  /** The page's strings over the shipped words of the element's language. */
  get #strings(): Partial<LiveOperationStrings> {
    return { ...this.#locale.strings, ...this.strings };
  }

  #t(key: keyof LiveOperationStrings, values?: Record<string, string | number>): string {
    return translate(this.#strings, key, values);
  }

  #receive(line: SessionLine): void {
    if (line.type !== 'snapshot') {
      this._problem = line.type === 'gone' ? this.#t('gone') : this.#t('failed', { reason: line.error.message });
      return;
    }
    const previous = this._snapshot;
    const title = line.title || this.#t('untitled');
    const another = previous?.id !== line.id;
    if (another) {
      this._logs = [];
      this.#milestone = 0;
      this._problem = this._cancelError = '';
      this._cancelling = this._confirming = false;
    }
    const { progress, closing } = track(this._progress, line);
    this._progress = progress;
    if (closing) {
      this.#closing ??= previous;
      clearTimeout(this.#closingTimer);
      this.#closingTimer = setTimeout(() => {
        this.#closing = undefined;
        this.requestUpdate();
      }, CLOSING_RAMP_MS);
    }
    const last = this._logs.at(-1)?.seq ?? 0;
    // Lines come in seq order, each once; drop any already seen all the same.
    this._logs = this._logs.concat(line.logs.filter((entry) => entry.seq > last)).slice(-this.maxLogLines);
    this._snapshot = line;
    this.#content.receive(line);
    this._etaAt = line.etaMs === null ? undefined : Date.now() + line.etaMs;

    // The polite live region speaks on status changes and at each quarter, never every tick.
    const overall = progress.peaks[''] ?? line.percent;
    const milestone = overall - (overall % 25);
    const status = this.#t(line.status);
    const text =
      previous?.status !== line.status
        ? line.error
          ? `${status}. ${line.error.message}`
          : status
        : milestone > this.#milestone &&
          milestone < 100 &&
          format(this.#locale.lang || undefined, milestone, 'percent');
    if (previous && text) this._announcement = this.#t('announce', { title, text });
    this.#milestone = Math.max(this.#milestone, milestone);

    this.#fire('live-operation-update', line);
    if (terminal(line.status) && this.#ended !== line.id) {
      this.#ended = line.id;
      // A chain, or a restart in place: on to the session that carries on.
      const next = line.next;
      if (next) {
        this.#fire('live-operation-chain', line);
        const { stream } = this;
        if (stream.id) stream.watch({ id: next.id, token: next.viewerToken ?? stream.token, base: stream.base });
      } else {
        this.#fire(`live-operation-${line.status}`, line);
        const body = this.#t('announce', { title, text: status });
        if (this.notify) import('./notify.ts').then(({ show }) => show(body, line.error?.message));
      }
    }
  }

  #fire(name: SnapshotEventName, snapshot: Snapshot): void {
    const event = new LiveOperationSnapshotEvent(name, snapshot); // (declared with @fires above)
    this.dispatchEvent(event);
  }

  /**
   * Cancels the operation: fires `live-operation-cancel` (stopped by
   * `preventDefault()`), then `POST …/cancel`. Resolves to whether the server
   * accepted the request; the element shows `cancelling…` until the stream
   * says `cancelled`.
   */
  async cancel(): Promise<boolean> {
    const { stream } = this;
    this._confirming = false;
    this._cancelError = '';
    const event = new LiveOperationCancelEvent(this._snapshot?.id ?? stream.id);
    this._cancelling = this.dispatchEvent(event) && !!stream.id;
    if (this._cancelling) {
      const reason = await stream.cancel().then(
        (response) => response.ok || response.status,
        (error: Error) => error.message,
      );
      if (reason === true) return true;
      this._cancelling = false;
      this._cancelError = this.#t('cancelFailed', { reason });
    }
    return false;
  }

  #bar(part: string, bar: BarView): TemplateResult {
    return html`<div
        part="bar ${part}-bar"
        class="bar"
        role="progressbar"
        aria-label=${bar.label}
        aria-valuemin="0"
        aria-valuemax="100"
        aria-valuenow=${bar.percent}
        aria-valuetext=${bar.valueText}
      >
        <div part="fill" class="fill" .style=${`width:${bar.percent}%`}></div>
      </div>
      <span part="percent ${part}-percent" class="pct">${bar.text}</span>`;
  }

  #task({ task, icon, bar, detail }: TaskView): TemplateResult {
    return html`<li
      part="task"
      class="task ${task.status}${task.simulated ? ' simulated' : ''}${task.stalled ? ' stalled' : ''}"
    >
      <span part="task-icon" class="icon" aria-hidden="true">${icon}</span>
      <span part="task-name">${task.name}</span>
      ${this.#bar('task', bar)}
      ${detail ? html`<span part="task-detail" class="detail ${task.level}">${detail}</span>` : nothing}
    </li>`;
  }

  #log({ log }: OperationView): TemplateResult | typeof nothing {
    if (!log) return nothing;
    if (log.kind === 'latest') return html`<p part="log log-line" class="lines">${log.line}</p>`;
    return html`<div part="log">
      <button
        part="log-toggle"
        aria-expanded=${this.logOpen}
        aria-controls="lines"
        @click=${() => {
          this.logOpen = !this.logOpen;
          this.#scrolledAway = false;
        }}
      >
        ${this.logOpen ? '▾' : '▸'} ${log.toggle}
      </button>
      ${
        this.logOpen
          ? html`<ol
            part="log-lines"
            id="lines"
            class="lines"
            tabindex="0"
            @scroll=${({ target: el }: { target: HTMLElement }) => {
              this.#scrolledAway = log.newestFirst
                ? el.scrollTop > 4
                : el.scrollHeight - el.scrollTop - el.clientHeight > 4;
            }}
          >
            ${log.lines.map((line) => html`<li part="log-line">${line}</li>`)}
          </ol>`
          : nothing
      }
    </div>`;
  }

  #actions({ actions }: OperationView): TemplateResult | typeof nothing {
    if (!actions) return nothing;
    // The cancel button stays the same element while it asks for confirmation, so focus stays on it.
    return html`<div part="actions" class="actions">
      ${
        actions.kind === 'cancelling'
          ? html`<span part="cancelling">${actions.label}</span>`
          : html`<button
              part="cancel-button"
              class=${actions.kind === 'confirm' ? 'danger' : ''}
              @click=${() => {
                if (this._confirming) this.cancel();
                else this._confirming = true;
              }}
            >
              ${actions.label}
            </button>
            ${
              actions.kind === 'confirm'
                ? html`<button part="keep-button" @click=${() => (this._confirming = false)}>${actions.keep}</button>`
                : nothing
            }`
      }
    </div>`;
  }

  protected override render(): TemplateResult {
    const latest = this._snapshot;
    const view = operationView(
      {
        snapshot: this.#closing ?? latest,
        latest,
        peaks: this._progress?.peaks ?? {},
        logs: this._logs,
        etaAt: this._etaAt,
        problem: this._problem,
        connection: this._connection,
        unreachable: this._unreachable,
        mayCancel: this.cancelable || mayCancel(this.stream.token),
        confirming: this._confirming,
        cancelling: this._cancelling,
        cancelError: this._cancelError,
        logOrder: this.logOrder,
        logMode: this.logMode,
        base: `${this.stream.base || location.origin}/`,
      },
      this.#clock.now,
      this.#strings,
      // The language, derived once per update (by the locale controller, before render).
      this.#locale.lang || undefined,
    );
    // Refused before any snapshot: there is no title, status or percent to show beside why.
    if (view.problemOnly) {
      return html`<div part="base" class="base"><p part="problem" class="problem">${view.problem}</p></div>`;
    }
    const { message } = view;
    return html`<div part="base" class="base" aria-busy=${view.busy}>
      <header part="header">
        <span part="title" class="title">${view.title}</span>
        <span part="status" class="badge ${view.status}">${view.badge}</span>
      </header>
      <div part="overall" class="overall ${view.status}">${this.#bar('overall', view.overall)}</div>
      ${
        view.stages.length
          ? html`<ol part="stages" class="stages">
            ${view.stages.map(
              (stage) =>
                html`<li part="stage stage-${stage.state}" class=${stage.state} aria-current=${stage.state === 'active' ? 'step' : nothing}>
                  ${stage.name}
                </li>`,
            )}
          </ol>`
          : nothing
      }
      ${view.tasks.length ? html`<ul part="tasks">${view.tasks.map((task) => this.#task(task))}</ul>` : nothing}
      ${
        message
          ? html`<p part="message" class=${message.level}>
            ${message.label ? html`<strong>${message.label}:</strong> ${this.#content.message(message, this.#locale.lang)}` : this.#content.message(message, this.#locale.lang)}
          </p>`
          : nothing
      }
      ${this.#content.render(this.#strings)}
      ${view.problem ? html`<p part="problem" class="problem">${view.problem}</p>` : nothing}
      ${this.#content.result(view.result)} ${view.meta ? html`<div part="meta" class="meta">${view.meta}</div>` : nothing}
      ${this.#actions(view)} ${this.#log(view)}
      <div class="sr" role="status" aria-live="polite">${this._announcement}</div>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'live-operation': LiveOperation;
  }
}
