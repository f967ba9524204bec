/**
 * Every user-visible string of `<live-operation-list>`, and its ages. Hosts
 * override any string through its `strings` property (or a JSON `strings`
 * attribute); `{name}` placeholders are filled in. The statuses are
 * `<live-operation>`'s.
 */
import type { ChildStrings } from './child-rollup.ts';
import { defaultStrings } from './strings.ts';

/** The list's strings. Override any of them with the `strings` property. */
export const defaultListStrings = {
  /** The status filter's label. */
  status: 'Status',
  /** The status filter's first option: every status. */
  all: 'All',
  pending: defaultStrings.pending,
  running: defaultStrings.running,
  complete: defaultStrings.complete,
  error: defaultStrings.error,
  cancelled: defaultStrings.cancelled,
  /** The status filter's option for sessions running a task again after a retry (`?status=retrying`). */
  retrying: 'Retrying',
  /** The title search's label. */
  search: 'Search titles',
  /** A row's button, which shows or hides the session's live progress (it has `aria-expanded`). */
  toggle: 'Live progress of {title}',
  /** `aria-valuetext` of a row's bar. */
  value: '{percent}, {status}',
  /** A row's age, `{time}` as `Intl.RelativeTimeFormat` says it: "3 min. ago". */
  age: '{time}',
  /** Title of an untitled session. */
  untitled: defaultStrings.untitled,
  /** A row's action buttons (each named "{action}: {title}" for a screen reader, with `actionLabel`). */
  cancel: 'Cancel',
  restart: 'Restart',
  delete: 'Delete',
  /** `aria-label` of a row's action button: `{action}` is its text, `{title}` the session's. */
  actionLabel: '{action}: {title}',
  /** An action the server refused or that failed, shown in its row: `{reason}` is the server's message. */
  actionFailed: '{action} failed: {reason}',
  /** A parent row's button that shows or hides its children, a nested list (it has `aria-expanded`). */
  children: 'Children of {title}',
  /** The button that loads the next page. */
  more: 'Load more',
  /** What the list and the "Load more" button say while a page loads. */
  loading: 'Loading…',
  /** Nothing to list (with these filters). */
  empty: 'No operations',
  /** The server refused to list: 401 or 403 (listing needs an API key, which must stay off the page). */
  unauthorized: 'Listing needs an API key: point src at your backend, which adds it',
  /** Any other failure: `{reason}` is the HTTP status or the browser's error. */
  failed: 'Could not load the list ({reason})',
};

/** The list's strings, with a parent's children in words (child-rollup.ts, loaded with the first parent). */
export type LiveOperationListStrings = typeof defaultListStrings & ChildStrings;

/** The page's language where `element` sits (undefined: the browser's). */
export function langOf(element: Element): string | undefined {
  try {
    return Intl.getCanonicalLocales(element.closest<HTMLElement>('[lang]')?.lang || [])[0];
  } catch {
    return undefined;
  }
}

const ages: Record<string, Intl.RelativeTimeFormat> = {};

/** How long before `now` the ISO time `at` was: `3 min. ago`, `2 hr. ago`, `yesterday` (the largest whole unit). */
export function formatAge(at: string, now: number, lang: string | undefined): string {
  const s = Math.min(0, (Date.parse(at) - now) / 1000);
  const [value, unit] =
    s > -60 ? [s, 'second'] : s > -3600 ? [s / 60, 'minute'] : s > -86400 ? [s / 3600, 'hour'] : [s / 86400, 'day'];
  const key = `${lang}`;
  ages[key] ??= new Intl.RelativeTimeFormat(lang, { numeric: 'auto', style: 'short' });
  return ages[key].format(Math.trunc(value as number), unit as Intl.RelativeTimeFormatUnit);
}
