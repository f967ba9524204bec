/**
 * Texts past the server's limits are shortened (ending in `…`) rather than
 * sent as they are: the server would refuse the whole batch they travel in,
 * and with it every other report in it.
 */
import { LIMITS } from '../protocol/index.ts';

/** `text`, cut to at most `max` UTF-16 units (the server's measure), ending in `…` when cut. */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  // Never keep half of a surrogate pair.
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

export const shortenLine = (line: string) => shorten(String(line), LIMITS.logLineLength);
export const shortenMessage = (text: string) => shorten(String(text), LIMITS.messageLength);
export const shortenError = (text: string) => shorten(String(text), LIMITS.errorLength);
