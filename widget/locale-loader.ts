/**
 * The element's words in a shipped language other than English: a chunk of
 * its own (which language to load, and how), fetched only by a page in
 * another language, which then fetches that language's chunk.
 */
import { type Catalogue, loadLocale, localeFor } from '../protocol/locales.ts';

/** The shipped words for `lang` (undefined: not shipped, so English). */
export async function wordsFor(lang: string): Promise<Catalogue | undefined> {
  const locale = localeFor(lang);
  return locale === null ? undefined : loadLocale(locale);
}
