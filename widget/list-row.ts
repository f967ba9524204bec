/**
 * One row of `<live-operation-list>`: a button that opens the session (its
 * title), the status badge, a bar with the percent, the age, and when open
 * the session's `<live-operation>`. A template of what the list element
 * hands it (`RowView`); its state and events stay on the element.
 */
import { html, nothing, type TemplateResult } from 'lit';
import type { ListedSession } from '../protocol/index.ts';
import type { LiveOperationSnapshotEvent } from './events.ts';
import { formatAge, type LiveOperationListStrings } from './list-strings.ts';
import { format } from './strings.ts';

/** The session a row opened: its stream URL and token as they were then (a refresh mints new tokens). */
export interface Opened {
  id: string;
  src: string;
  token: string;
}

/** What every row of one render shares. */
export interface RowView {
  /** The open session, if any. */
  opened: Opened | undefined;
  lang: string | undefined;
  /** The time the ages are counted to. */
  now: number;
  theme: 'light' | 'dark' | undefined;
  t(key: keyof LiveOperationListStrings, values?: Record<string, string | number>): string;
  /** The row's button was pressed. */
  toggle(session: ListedSession): void;
  /** The open `<live-operation>` received a snapshot. */
  patch(event: LiveOperationSnapshotEvent): void;
}

export function sessionRow(
  session: ListedSession,
  { opened, lang, now, theme, t, toggle, patch }: RowView,
): TemplateResult {
  const { status, percent, createdAt } = session;
  const title = session.title || t('untitled');
  const open = opened?.id === session.id ? opened : undefined;
  const text = format(lang, percent, 'percent');
  return html`<li part="item${open ? ' item-open' : ''}">
    <div part="row" class="row">
      <button
        part="toggle"
        class="toggle"
        aria-expanded=${!!open}
        aria-controls=${open ? 'open' : nothing}
        aria-label=${t('toggle', { title })}
        @click=${() => toggle(session)}
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
    </div>
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
  </li>`;
}
