/**
 * Status messages as translation keys: a reporter sends `key` and `params`
 * beside the `text`, and a viewer renders the key from the catalogue the
 * page registered for its language, falling back to the text. Pure.
 */
/** A translated message's parameters. */
export type MessageParams = Record<string, string | number>;
