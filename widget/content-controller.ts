import { html, nothing, type ReactiveController, type ReactiveControllerHost, type TemplateResult } from 'lit';
import type { Snapshot, StatusMessage } from '../protocol/index.ts';
import { fill } from '../protocol/index.ts';
import { messageText } from '../protocol/messages.ts';
import type { ContentView } from './content-view.ts';
import { registered } from './locale-controller.ts';
import type { ResultSource } from './operation-view.ts';
import type { LiveOperationStrings } from './strings.ts';

type Host = ReactiveControllerHost & HTMLElement;

/**
 * Output streams, items, templated results and a parent's children, loaded
 * only when a page shows them: most pages have none, so the view
 * (content-view.ts) is a chunk of its own, fetched the first time a snapshot
 * carries output streams or children, or the page gives the element a
 * `<template>`. Snapshots that arrive while it
 * loads are handed to it once it is there.
 */
export class ContentController implements ReactiveController {
  #view?: ContentView;
  #loading = false;
  #waiting: Snapshot[] = [];

  constructor(
    private readonly host: Host,
    private readonly keep: () => number,
  ) {
    host.addController(this);
  }

  receive(line: Snapshot): void {
    if (this.#view) {
      this.#view.receive(line);
      return;
    }
    if (!line.outputs && !line.children && !this.#waiting.length && !this.host.querySelector(':scope > template[slot]'))
      return;
    this.#waiting.push(line);
    this.#load();
  }

  #load(): void {
    if (this.#loading) return;
    this.#loading = true;
    import('./content-view.ts').then(({ ContentView }) => {
      this.#view = new ContentView(this.host, this.keep, { html, nothing }, fill);
      for (const waiting of this.#waiting.splice(0)) this.#view.receive(waiting);
      this.host.requestUpdate();
    });
  }

  /** The result's default rendering, from the chunk: a result shows once, at the end, so it loads then. */
  result(result: ResultSource | undefined): TemplateResult | typeof nothing {
    if (!result) return nothing;
    if (!this.#view) {
      this.#load();
      return nothing;
    }
    return this.#view.result(result);
  }

  /** A status message in `lang`: the page's words for its key (its language's, its base language's, any), else its text. */
  message(message: StatusMessage, lang: string): string {
    if (message.key === undefined) return message.text;
    const key = message.key;
    const found = [lang, lang.split('-')[0]!, ''].find((l) => key in (registered[l] ?? {}));
    return messageText(message, found === undefined ? undefined : registered[found]);
  }

  hostUpdated(): void {
    this.#view?.hostUpdated();
  }

  /** What the chunk shows, in `strings` (the element's, for a parent's children). */
  render(strings: Partial<LiveOperationStrings>): TemplateResult | typeof nothing {
    return (this.#view?.render(strings) as TemplateResult | undefined) ?? nothing;
  }
}
