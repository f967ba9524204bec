/**
 * A parent's children in words, failures first ("1 failed · 2 running ·
 * 1 of 4 complete"): what `<live-operation>` says under a parent's bar and a
 * parent's row in `<live-operation-list>`, with the strings both take
 * (overridable through each element's `strings`). A chunk of its own, loaded
 * by either the first time a session with children shows: most pages have
 * none, and a module both the list's bundle and the element's chunks
 * imported statically would split the list's bundle.
 */
import type { ChildCounts } from '../protocol/grouping.ts';

/** The words of a parent's children by status; each shown only when there are any, but `childrenComplete`. */
export const childStrings = {
  childrenError: '{count} failed',
  childrenCancelled: '{count} cancelled',
  childrenRunning: '{count} running',
  childrenPending: '{count} waiting',
  /** `{expected}`: the children it expects, or it has if more. */
  childrenComplete: '{count} of {expected} complete',
};

export type ChildStrings = typeof childStrings;

/**
 * A parent's children by status, failures first, each with its count in
 * words: `strings` (the element's) over the defaults, placeholders filled
 * by `fill` (the protocol's, which the caller has).
 */
export function rollup(
  children: ChildCounts,
  strings: Partial<ChildStrings>,
  fill: (text: string, values: Record<string, string | number>) => string,
): { status: string; text: string }[] {
  const t = (key: keyof ChildStrings, values: Record<string, number>) =>
    fill(strings[key] ?? childStrings[key], values);
  const expected = Math.max(children.expected, children.total);
  const counts = [
    ['error', 'childrenError'],
    ['cancelled', 'childrenCancelled'],
    ['running', 'childrenRunning'],
    ['pending', 'childrenPending'],
  ] as const;
  return [
    ...counts
      .filter(([status]) => children[status] > 0)
      .map(([status, key]) => ({ status, text: t(key, { count: children[status] }) })),
    { status: 'complete', text: t('childrenComplete', { count: children.complete, expected }) },
  ];
}
