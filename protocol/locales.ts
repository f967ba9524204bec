/**
 * The languages the views ship besides English, each its own module, loaded
 * only when a viewer asks for it (the element's bundle carries none of them).
 * The keys are the element's strings (`defaultStrings`); the text view uses
 * the status words among them.
 */
export const LOCALES = ['de', 'fr', 'es', 'pt-BR', 'ja', 'zh-CN'] as const;
export type Locale = (typeof LOCALES)[number];

/** A language's words, by key. */
export type Catalogue = Readonly<Record<string, string>>;

const loaders: Record<Locale, () => Promise<{ default: Catalogue }>> = {
  de: () => import('./locales/de.ts'),
  fr: () => import('./locales/fr.ts'),
  es: () => import('./locales/es.ts'),
  'pt-BR': () => import('./locales/pt-BR.ts'),
  ja: () => import('./locales/ja.ts'),
  'zh-CN': () => import('./locales/zh-CN.ts'),
};

/**
 * The shipped language for a BCP 47 tag: itself, else its language's
 * (`de-AT` → `de`, `pt` → `pt-BR`, `zh-Hans` → `zh-CN`), else null (English).
 * @example localeFor('de-CH') // 'de'
 */
export function localeFor(lang: string | undefined): Locale | null {
  if (!lang) return null;
  const exact = LOCALES.find((locale) => locale.toLowerCase() === lang.toLowerCase());
  if (exact) return exact;
  const language = lang.split('-')[0]!.toLowerCase();
  // Traditional Chinese is not shipped: it stays English rather than turning simplified.
  if (language === 'zh' && /-(hant|tw|hk|mo)\b/i.test(lang)) return null;
  return LOCALES.find((locale) => locale.split('-')[0] === language) ?? null;
}

/** The words of a shipped language, loaded on first use. */
export function loadLocale(locale: Locale): Promise<Catalogue> {
  return loaders[locale]().then((module) => module.default);
}
