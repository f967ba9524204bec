/**
 * Status messages as translation keys: a reporter sends `key` and `params`
 * beside the `text`, and a viewer renders the key from the catalogue the
 * page registered for its language, falling back to the text. Pure.
 */
/** A translated message's parameters. */
export type MessageParams = Record<string, string | number>;

/** Fills `{name}` placeholders (an unknown one stays as it is). */
export const fill = (template: string, values: Readonly<Record<string, string | number>>): string =>
  template.replace(/\{(\w+)\}/g, (whole, key: string) => String(values[key] ?? whole));

/**
 * A status message in the viewer's words: its key from `catalogue` with its
 * parameters filled in, else the text the reporter sent.
 * @example messageText({ text: 'Row 3', key: 'row', params: { n: 3 } }, { row: 'Zeile {n}' }) // 'Zeile 3'
 */
export function messageText(
  message: { text: string; key?: string; params?: MessageParams },
  catalogue: Readonly<Record<string, string>> | undefined,
): string {
  const template = message.key === undefined ? undefined : catalogue?.[message.key];
  return template === undefined ? message.text : fill(template, message.params ?? {});
}
