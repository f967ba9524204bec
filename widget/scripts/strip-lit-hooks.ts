/**
 * A build plugin that takes out of the bundled Lit the global hooks through
 * which other scripts on a page may reach into it, none of which this bundle
 * uses:
 * - the polyfill hooks: `globalThis.reactiveElementPolyfillSupport`,
 *   `litHtmlPolyfillSupport` and `litElementPolyfillSupport` (set by
 *   `lit/polyfill-support.js`, for browsers without native Shadow DOM), and
 *   the look at the ShadyCSS polyfill (`globalThis.ShadyCSS`) when deciding
 *   whether to adopt style sheets;
 * - the SSR hook: `globalThis.litElementHydrateSupport` (set by
 *   `@lit-labs/ssr-client`, to hydrate server-rendered elements);
 * - the version registry: `(globalThis.litHtmlVersions ??= []).push('3.3.3')`
 *   and the same for `reactiveElementVersions` and `litElementVersions`, read
 *   only by Lit's development build, to warn when two copies of Lit meet.
 *
 * Why this is safe for `dist/live-operation.js`: its copy of Lit is its own
 * (apps that share one Lit use the lit-external bundle, where there is no Lit
 * for this plugin to touch); every browser that can run it (ES2022: static
 * blocks, private methods) has native Shadow DOM and custom elements, so the
 * polyfills have nothing to do there (ShadyCSS, over native Shadow DOM, says
 * `nativeShadow`, and the check for adopted style sheets keeps its tests of
 * the browser itself); `<live-operation>` is never rendered on a server, so
 * there is nothing to hydrate; and no production code reads the registry.
 * Without the hooks the element behaves as it does on any page that does not
 * load those scripts.
 *
 * The hooks are matched by their exact names, in the shape Lit writes them
 * (its sources say of the version lines: "do not change the property name
 * or the assignment expression"), each the expected number of times in the
 * production module that holds it. Anything else fails the build, and so
 * does a hook name left anywhere in a bundle, so a Lit upgrade that moves,
 * renames or adds one is noticed rather than silently kept or half-removed.
 */
import type { Plugin } from 'vite';

interface Hook {
  /** The global's name. */
  name: string;
  /** How often Lit's production module reads it (a registry: registers in it). */
  reads: number;
}

/** Lit's production modules (each package's default export condition) and the hooks they read. */
const MODULES: Record<string, Hook[]> = {
  '@lit/reactive-element/css-tag.js': [{ name: 'ShadyCSS', reads: 2 }],
  '@lit/reactive-element/reactive-element.js': [
    { name: 'reactiveElementPolyfillSupport', reads: 1 },
    { name: 'reactiveElementVersions', reads: 1 },
  ],
  'lit-html/lit-html.js': [
    { name: 'litHtmlPolyfillSupport', reads: 1 },
    { name: 'litHtmlVersions', reads: 1 },
  ],
  'lit-element/lit-element.js': [
    { name: 'litElementHydrateSupport', reads: 1 },
    { name: 'litElementPolyfillSupport', reads: 1 },
    { name: 'litElementVersions', reads: 1 },
  ],
};
const NAMES = Object.values(MODULES).flatMap((hooks) => hooks.map((hook) => hook.name));

/**
 * A registry line, `(g.litHtmlVersions ??= []).push('3.3.3')`, goes; any other
 * read, `g.litHtmlPolyfillSupport` (`g` is Lit's alias of `globalThis`),
 * becomes `undefined`, as on a page that sets no hook, and the minifier drops
 * the code that only ran when it was set.
 */
const pattern = (name: string): RegExp =>
  name.endsWith('Versions')
    ? new RegExp(`\\(\\s*[\\w$]+\\.${name}\\s*\\?\\?=\\s*\\[\\]\\s*\\)\\.push\\(\\s*(["'\`])[\\w.-]+\\1\\s*\\)`, 'g')
    : new RegExp(`[\\w$]+\\.${name}\\b`, 'g');

export function stripLitHooks(): Plugin {
  return {
    name: 'liveop-strip-lit-hooks',
    transform(code, id) {
      const module = Object.keys(MODULES).find((name) => id.replace(/\\/g, '/').endsWith(`/node_modules/${name}`));
      if (!module) return null;
      let out = code;
      for (const { name, reads } of MODULES[module]!) {
        const found = out.match(pattern(name))?.length ?? 0;
        if (found !== reads)
          this.error(
            `${module} reads ${name} ${found} times in the shape ${pattern(name)}, not ${reads}: has Lit changed?`,
          );
        out = out.replace(pattern(name), 'undefined');
        if (out.includes(name)) this.error(`${module} still has ${name} after it was stripped: has Lit changed?`);
      }
      return { code: out, map: null };
    },
    generateBundle(_, bundle) {
      // Gone from whatever was bundled, wherever a new Lit may have moved them.
      for (const chunk of Object.values(bundle)) {
        const left = chunk.type === 'chunk' ? NAMES.filter((name) => chunk.code.includes(name)) : [];
        if (left.length) this.error(`${chunk.fileName} still has Lit's ${left.join(', ')}: has Lit changed?`);
      }
    },
  };
}
