import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { Catalogue } from '../protocol/index.ts';

/** Message catalogues the page registered, by language (`''`: any language). */
export const registered: Record<string, Record<string, string>> = {};

/**
 * Registers the page's words for status messages sent as keys
 * (`{"type":"message","key":…,"params":{…},"text":…}`), for one language
 * (a BCP 47 tag as the element's `lang` spells it; `''` for any). A key
 * missing for the viewer's language is looked up under its base language,
 * then `''`; else the message's text is shown.
 * @example registerMessages('de', { 'import.row': 'Zeile {row} von {total}' });
 */
export function registerMessages(lang: string, catalogue: Record<string, string>): void {
  registered[lang] = { ...registered[lang], ...catalogue };
}

/**
 * The element's language, as a Lit `ReactiveController`: the words of the
 * shipped language for `lang()` (loaded on first use, then the host updates;
 * English until then, and for a language not shipped). Status messages sent
 * as keys are rendered from the page's catalogues by content-view.ts.
 */
export class LocaleController implements ReactiveController {
  /** The shipped language's words (undefined: English). */
  strings?: Catalogue;
  lang = '';

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly current: () => string | undefined,
  ) {
    host.addController(this);
  }

  hostUpdate(): void {
    const lang = this.current() ?? '';
    if (lang === this.lang) return;
    this.lang = lang;
    this.strings = undefined;
    // English needs nothing loaded; another language loads the chunk that knows which languages ship.
    if (lang && !/^en\b/i.test(lang)) {
      import('./locale-loader.ts')
        .then(({ wordsFor }) => wordsFor(lang))
        .then((strings) => {
          if (this.lang !== lang) return; // the language changed again meanwhile
          this.strings = strings;
          this.host.requestUpdate();
        });
    }
  }
}
