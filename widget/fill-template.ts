/**
 * A page's `<template>` filled from a JSON object: each element that names a
 * field with `data-field` gets that field's value as its text (never as
 * HTML), and one that names a field with `data-href` gets it as its `href`
 * when it is an http(s) URL. Fields may be paths (`owner.name`).
 */

/** The value at a dotted path, or undefined. Own properties only. */
function valueAt(data: unknown, path: string): unknown {
  let value = data;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

const asText = (value: unknown): string =>
  value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);

/** Only http(s) links: a `javascript:` URL in the data stays out of the page. */
function httpUrl(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  try {
    const url = new URL(value, document.baseURI);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** A copy of the template's content with `data`'s values in it. */
export function fillTemplate(template: HTMLTemplateElement, data: Record<string, unknown>): DocumentFragment {
  const fragment = template.content.cloneNode(true) as DocumentFragment;
  for (const element of fragment.querySelectorAll<HTMLElement>('[data-field]')) {
    element.textContent = asText(valueAt(data, element.dataset.field!));
  }
  for (const element of fragment.querySelectorAll<HTMLElement>('[data-href]')) {
    const url = httpUrl(valueAt(data, element.dataset.href!));
    if (url === null) element.removeAttribute('href');
    else element.setAttribute('href', url);
  }
  return fragment;
}
