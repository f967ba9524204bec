/**
 * One row of `<live-operation-list>`: a button that opens the session (its
 * title), the status badge, a bar with the percent, the age, the actions the
 * list's credential allows (cancel, restart, delete) with what went wrong,
 * for a parent the roll-up of its children (failures first) on a button
 * that opens them in a nested list, and when open the session's
 * `<live-operation>`. A template of what the list element hands it
 * (`RowView`); its state and events stay on the element.
 */
import { html, nothing, type TemplateResult } from 'lit';
import type { ChildCounts } from '../protocol/index.ts';
import type { LiveOperationSnapshotEvent } from './events.ts';
import type { ListAction } from './list-actions.ts';
import type { ListRow } from './list-rows.ts';
import { formatAge, type LiveOperationListStrings } from './list-strings.ts';
import { format } from './strings.ts';

/** The session a row opened: its stream URL and token as they were then (a refresh mints new tokens). */
export interface Opened {
  id: string;
  src: string;
  token: string;
}

/** A row's action: the one in flight, or why the last one failed. */
export interface Acting {
  busy?: ListAction;
  error?: string;
}

type Translate = (key: keyof LiveOperationListStrings, values?: Record<string, string | number>) => string;

/** What every row of one render shares. */
export interface RowView {
  /** The open session, if any. */
  opened: Opened | undefined;
  lang: string | undefined;
  /** The time the ages are counted to. */
  now: number;
  theme: 'light' | 'dark' | undefined;
  t: Translate;
  /** The row's button was pressed. */
  toggle(session: ListRow): void;
  /** The open `<live-operation>` received a snapshot. */
  patch(event: LiveOperationSnapshotEvent): void;
  /** The actions a row offers now. */
  actions(session: ListRow): ListAction[];
  /** What its actions are doing, or did wrong. */
  acting(session: ListRow): Acting | undefined;
  act(session: ListRow, action: ListAction): void;
  /** Whether a parent's children are shown. */
  childrenOpen(session: ListRow): boolean;
  toggleChildren(session: ListRow): void;
  /** The nested list of a parent's children (an element). */
  nested(session: ListRow): HTMLElement;
  /** A parent's children in words, failures first (none while their words load). */
  rollup(children: ChildCounts): { status: string; text: string }[];
}

export function sessionRow(session: ListRow, view: RowView): TemplateResult {
  const { opened, lang, now, theme, t, toggle, patch } = view;
  const { status, percent, createdAt, children } = session;
  const title = session.title || t('untitled');
  const open = opened?.id === session.id ? opened : undefined;
  const text = format(lang, percent, 'percent');
  const acting = view.acting(session);
  const nested = children && view.childrenOpen(session);
  return html`<li part="item${open ? ' item-open' : ''}${children ? ' item-parent' : ''}">
    <div part="row" class="row">
      <button
        part="toggle"
        class="toggle"
        aria-expanded=${!!open}
        aria-controls=${open ? 'open' : nothing}
        aria-label=${t('toggle', { title })}
        aria-disabled=${session.streamUrl === undefined}
        @click=${() => session.streamUrl !== undefined && toggle(session)}
      >
        <span class="chevron" aria-hidden="true">${open ? '▾' : '▸'}</span><span part="title">${title}</span>
      </button>
      <span part="status" class="badge ${status}">${t(status)}</span>
      <div
        part="bar"
        class="bar ${status}"
        role="progressbar"
        aria-label=${title}
        aria-valuemin="0"
        aria-valuemax="100"
        aria-valuenow=${percent}
        aria-valuetext=${t('value', { percent: text, status: t(status) })}
      >
        <div part="fill" class="fill" .style=${`width:${percent}%`}></div>
      </div>
      <span part="percent" class="pct">${text}</span>
      <time part="age" class="age" datetime=${createdAt} title=${new Date(createdAt).toLocaleString(lang)}
        >${t('age', { time: formatAge(createdAt, now, lang) })}</time
      >
      ${
        children
          ? html`<button
            part="children-toggle"
            class="children"
            aria-expanded=${!!nested}
            @click=${() => view.toggleChildren(session)}
          >
            <span class="sr">${t('children', { title })}</span>
            <span class="chevron" aria-hidden="true">${nested ? '▾' : '▸'}</span>
            ${view
              .rollup(children)
              .map(
                ({ status, text }) =>
                  html`<span part="child-count child-${status}" class="count ${status}">${text}</span>`,
              )}
          </button>`
          : nothing
      }
      ${view.actions(session).map((action) => {
        const label = t(action);
        return html`<button
          part="action ${action}-action"
          class="action"
          aria-label=${t('actionLabel', { action: label, title })}
          aria-disabled=${!!acting?.busy}
          @click=${() => acting?.busy || view.act(session, action)}
        >
          ${acting?.busy === action ? t('loading') : label}
        </button>`;
      })}
    </div>
    ${acting?.error ? html`<p part="row-problem" class="problem" role="alert">${acting.error}</p>` : nothing}
    ${
      open
        ? html`<live-operation
          part="operation"
          id="open"
          src=${open.src}
          token=${open.token}
          theme=${theme ?? nothing}
          @live-operation-update=${patch}
        ></live-operation>`
        : nothing
    }
    ${nested ? view.nested(session) : nothing}
  </li>`;
}
