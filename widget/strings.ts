/**
 * Every user-visible string of `<live-operation>`, and the `Intl` formatting
 * of its numbers. Hosts override any subset through the `strings` property
 * (or a JSON `strings` attribute); `{name}` placeholders are filled in.
 */

/** The element's strings. Override any of them with the `strings` property. */
export const defaultStrings = {
  pending: 'Waiting to start',
  /** The status of a session waiting in a queue; `{position}`: 1 is next. */
  queued: 'Queued (#{position})',
  running: 'Running',
  complete: 'Complete',
  error: 'Failed',
  cancelled: 'Cancelled',
  cancelling: 'Cancelling…',
  warning: 'Warning',
  /** `aria-valuetext` of a bar. */
  value: '{percent}, {status}',
  /** `aria-valuetext` of a bar whose percent is an estimate between reports. */
  estimate: 'about {percent}, {status}',
  steps: '{done} / {total}',
  retry: 'retry {attempt}',
  stalled: 'no update for {time}',
  elapsed: '{time} elapsed',
  eta: 'about {time} left',
  cancel: 'Cancel',
  /** The cancel button, once pressed, asking to be pressed again. */
  confirm: 'Yes, cancel it',
  keep: 'Keep running',
  cancelFailed: 'Could not cancel ({reason})',
  /** The log toggle (a button with `aria-expanded`). */
  log: 'Log ({count})',
  reconnecting: 'Reconnecting…',
  polling: 'Live updates delayed',
  /** Instead of `reconnecting` when attempts in a row got no answer at all (the element keeps trying). */
  unreachable: 'Server unreachable: is it running, with this origin in LIVEOP_CORS_ORIGINS?',
  /** The server refused the session: 401, 403 or 404 (other statuses: `failed`). */
  401: 'Token missing, invalid or expired',
  403: 'Token not valid for this session',
  404: 'Unknown session',
  gone: 'No longer available',
  /** The server refused with this code (`404 server_restarted`): it restarted, and the sessions it kept in memory are gone. */
  server_restarted: 'No longer available — the server restarted',
  failed: 'Could not load ({reason})',
  /** Announcements (live region, notification): `{title}` and a status or percent. */
  announce: '{title}: {text}',
  /** Title before the first snapshot, or of an untitled session. */
  untitled: 'Operation',
};

/**
 * The element's strings: these, and a parent's children in words
 * (child-rollup.ts, whose defaults load with the first parent).
 */
export type LiveOperationStrings = typeof defaultStrings & ChildStrings;

import { fill } from '../protocol/index.ts';
import type { ChildStrings } from './child-rollup.ts';

export { fill };

/**
 * `key`'s string from `strings` (else the default), placeholders filled. A key
 * with no string (a status from a newer server) is shown as it is.
 */
export const translate = (
  strings: Partial<LiveOperationStrings> | undefined,
  key: keyof LiveOperationStrings,
  values: Record<string, string | number> = {},
): string => fill(strings?.[key] ?? (defaultStrings as Partial<LiveOperationStrings>)[key] ?? `${key}`, values);

const formats: Record<string, Intl.NumberFormat> = {};

/**
 * Formats a number for the page's language with a cached `Intl.NumberFormat`:
 * plain, as `percent` (of 100), or in a unit (`second`, `minute`, `hour`).
 */
export function format(lang: string | undefined, value: number, style?: string): string {
  const key = `${lang} ${style}`;
  formats[key] ??= new Intl.NumberFormat(
    lang,
    style === 'percent' ? { style } : style ? { style: 'unit', unit: style } : {},
  );
  return formats[key].format(style === 'percent' ? value / 100 : value);
}

/** `42 sec`, `3 min`, `2 hr`: the largest whole unit (rounded with `round`, for estimates; else floored). */
export function formatDuration(ms: number, lang: string | undefined, round?: boolean): string {
  const s = Math.max(0, ms / 1000);
  const [value, unit] = s < 60 ? [s, 'second'] : s < 3600 ? [s / 60, 'minute'] : [s / 3600, 'hour'];
  return format(lang, (round ? Math.round : Math.floor)(value as number), unit as string);
}
