import type { html as litHtml, nothing as litNothing, ReactiveControllerHost, TemplateResult } from 'lit';
import type { ChildCounts } from '../protocol/grouping.ts';
import { appendOutputs, type OutputChunk } from '../protocol/outputs.ts';
import type { LogEntry, Snapshot } from '../protocol/wire.ts';
import type * as ChildRollup from './child-rollup.ts';
import { fillTemplate } from './fill-template.ts';
import type { ResultSource } from './operation-view.ts';
import { resultView } from './result-view.ts';
import type { LiveOperationStrings } from './strings.ts';

type Host = ReactiveControllerHost & HTMLElement;

/** A stream's text as one Text node, grown in place while the stream grows. */
interface Placed {
  node: Text;
  offset: number;
  length: number;
}

/**
 * What a session carries besides its progress, as `<live-operation>` shows
 * it (a chunk of its own, loaded by content-controller.ts when a page needs it): output streams (grown in place, in the page's `[stream=NAME]` element
 * when it has one, else in the `output` part), log entries with `data`
 * through the page's `<template slot="item">`, and the result through its
 * `<template slot="result">`. What the page's templates render goes in the
 * light DOM (slots `items` and `result`), so the page's styles apply; every
 * value is written as text.
 */
/** The key/value list's layout, set here (through the CSSOM, as CSP allows) because the list renders only from this chunk. */
const RESULT_LIST_STYLE = 'display:grid;grid-template-columns:auto 1fr;gap:2px 16px';

export class ContentView {
  /** Each stream as held so far. */
  outputs: Record<string, OutputChunk> = {};
  #id?: string;
  #items: LogEntry[] = [];
  #itemSeq = 0;
  #result: unknown = null;
  #placed = new WeakMap<Element, Placed>();
  /** The items container's children, by seq, oldest first. */
  #rendered: { seq: number; nodes: ChildNode[] }[] = [];
  /** A parent's children by status, as the latest snapshot counts them. */
  #children?: ChildCounts | undefined;
  /** Their words (child-rollup.ts, a chunk of its own), loaded with the first parent. */
  #rollup?: typeof ChildRollup;

  constructor(
    private readonly host: Host,
    /** How many items the DOM keeps (0: all). */
    private readonly keep: () => number,
    /** The host's Lit (this chunk carries none of its own). */
    private readonly lit: { html: typeof litHtml; nothing: typeof litNothing },
    /** The host's placeholder filling (the protocol's `fill`), for the same reason. */
    private readonly fill: (text: string, values: Record<string, string | number>) => string,
  ) {}

  receive(line: Snapshot): void {
    if (line.id !== this.#id) {
      this.#id = line.id;
      this.outputs = {};
      this.#items = [];
      this.#itemSeq = 0;
      this.#own('items')?.replaceChildren();
      this.#rendered = [];
    }
    this.#children = line.children;
    if (line.children && !this.#rollup) {
      import('./child-rollup.ts').then((loaded) => {
        this.#rollup = loaded;
        this.host.requestUpdate();
      });
    }
    this.outputs = appendOutputs(this.outputs, line.outputs);
    const fresh = line.logs.filter((entry) => entry.data !== undefined && entry.seq > this.#itemSeq);
    if (fresh.length > 0) {
      this.#items = this.#items.concat(fresh);
      this.#itemSeq = fresh.at(-1)!.seq;
    }
    this.#result = line.result;
  }

  hostUpdated(): void {
    for (const element of this.host.querySelectorAll('[stream]')) this.#placeStream(element);
    this.#placeItems();
    this.#placeResult();
  }

  /** The streams the page did not place, each in an `output` part, and the slot of the page's items. */
  render(strings: Partial<LiveOperationStrings>): TemplateResult | symbol {
    const { html, nothing } = this.lit;
    const placed = new Set([...this.host.querySelectorAll('[stream]')].map((e) => e.getAttribute('stream')));
    const shown = Object.entries(this.outputs).filter(([name]) => !placed.has(name));
    const items = this.#template('item') !== null;
    // A parent's children in words, failures first, under its bar.
    const children =
      this.#children && this.#rollup
        ? html`<p part="children" class="children">
            ${this.#rollup
              .rollup(this.#children, strings, this.fill)
              .map(
                ({ status, text }, i) => html`${i ? ' · ' : ''}<span part="child-count child-${status}">${text}</span>`,
              )}
          </p>`
        : nothing;
    if (shown.length === 0 && !items && placed.size === 0) return children;
    return html`${children}<div part="outputs" class="outputs">
      <slot name="outputs"></slot>
      ${shown.map(
        ([name, chunk]) =>
          html`<pre part="output output-${name}" data-stream=${name}>${chunk.dropped ? '… ' : ''}${textOf(chunk)}</pre>`,
      )}
      ${items ? html`<slot name="items" part="items"></slot>` : nothing}
    </div>`;
  }

  /** The result's default rendering (the page's `result` slot or template replaces it): key/value pairs or text, and the artifacts. */
  result(result: ResultSource): TemplateResult {
    const { html, nothing } = this.lit;
    const { entries, text, artifacts } = resultView(result);
    return html`<div part="result" class="result">
      <slot name="result"
        >${
          entries
            ? html`<dl part="result-list" .style=${RESULT_LIST_STYLE}>
                ${entries.map(([key, value]) => html`<dt>${key}</dt><dd>${value}</dd>`)}
              </dl>`
            : text === undefined
              ? nothing
              : html`<span part="result-list">${text}</span>`
        }</slot
      >
      ${
        artifacts.length
          ? html`<ul part="artifacts">
            ${artifacts.map(
              ({ name, url, text }) => html`<li>
                ${
                  url
                    ? html`<a part="artifact" href=${url} target="_blank" rel="noopener">${name}</a>`
                    : html`<span part="artifact">${name}</span>`
                }
                ${text ? html`<pre>${text}</pre>` : nothing}
              </li>`,
            )}
          </ul>`
          : nothing
      }
    </div>`;
  }

  #template(slot: 'item' | 'result'): HTMLTemplateElement | null {
    return this.host.querySelector(`:scope > template[slot="${slot}"]`);
  }

  /** The container the element made in the light DOM for a slot (made on first use). */
  #own(slot: 'items' | 'result', make = false): HTMLElement | null {
    let own = this.host.querySelector<HTMLElement>(`:scope > [data-liveop="${slot}"]`);
    if (own === null && make) {
      own = document.createElement('div');
      own.slot = slot;
      own.dataset.liveop = slot;
      this.host.append(own);
    }
    return own;
  }

  #placeStream(element: Element): void {
    const chunk = this.outputs[element.getAttribute('stream') ?? ''];
    if (chunk === undefined) return;
    const text = textOf(chunk);
    const placed = this.#placed.get(element);
    if (placed?.node.parentNode === element && placed.offset === chunk.offset && text.length >= placed.length) {
      // The same stream, grown: only what is new is added to the node.
      if (text.length > placed.length) placed.node.appendData(text.slice(placed.length));
    } else {
      const node = document.createTextNode(text);
      element.replaceChildren(node);
      this.#placed.set(element, { node, offset: chunk.offset, length: 0 });
    }
    this.#placed.get(element)!.length = text.length;
  }

  #placeItems(): void {
    const template = this.#template('item');
    if (template === null) return;
    const container = this.#own('items', true)!;
    const last = this.#rendered.at(-1)?.seq ?? 0;
    for (const entry of this.#items) {
      if (entry.seq <= last) continue;
      const fragment = fillTemplate(template, { line: entry.line, at: entry.at, ...entry.data });
      const nodes = [...fragment.childNodes];
      container.append(fragment);
      this.#rendered.push({ seq: entry.seq, nodes });
    }
    const keep = this.keep();
    while (keep > 0 && this.#rendered.length > keep) for (const node of this.#rendered.shift()!.nodes) node.remove();
    this.#items = [];
  }

  #placeResult(): void {
    const template = this.#template('result');
    const result = this.#result;
    if (template === null || result === null || typeof result !== 'object') return;
    const container = this.#own('result', true)!;
    if ((container as { liveopResult?: unknown }).liveopResult === result) return;
    (container as { liveopResult?: unknown }).liveopResult = result;
    container.replaceChildren(fillTemplate(template, result as Record<string, unknown>));
  }
}

/** A chunk as text: a data stream's chunks as JSON, one a line. */
function textOf(chunk: OutputChunk): string {
  return chunk.text ?? (chunk.data ?? []).map((item) => `${JSON.stringify(item)}\n`).join('');
}
