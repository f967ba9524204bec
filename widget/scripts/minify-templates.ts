/**
 * A build plugin that squeezes whitespace out of the element's Lit templates,
 * which the JS minifier leaves alone (they are strings to it):
 * - the CSS in `*.styles.ts`, every template literal there (each piece between
 *   two `${}` on its own: a `${}` there only joins pieces of CSS): comments,
 *   spaces around punctuation and combinators (`/` and `+` too: no `calc()`
 *   there) and the zero before a decimal point go, and the private `--_*`
 *   custom properties get the shortest names (`--_0`, `--_1`…, the most used
 *   first): the sheet sets and reads them, and nothing else does (the build
 *   fails if another module of the element names one);
 * - html`…` in `widget/*.ts`: found, as the CSS is, with the TypeScript
 *   parser, so nested templates and expressions are never touched; a run of
 *   whitespace with a line break next to `<` or `>` goes, any other becomes
 *   one space, and a static attribute value of letters, digits and dashes
 *   loses its quotes. (So a space that matters between a tag and text must
 *   stay on one line.)
 */
import type { Plugin } from 'vite';

export function minifyCss(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\s+/g, ' ')
    .replace(/ ?([{}:;,>+~/]) ?/g, '$1')
    .replace(/([:, (])0\.(\d)/g, '$1.$2')
    .replace(/;}/g, '}')
    .trim();
}

/** Renames every `--_name` in `code` to `--_0`, `--_1`… (skipping names already in use), the most used first. */
export function shortenPrivateProperties(code: string): string {
  const uses = new Map<string, number>();
  for (const [name] of code.matchAll(/--_[\w-]+/g)) uses.set(name, (uses.get(name) ?? 0) + 1);
  const short = new Map<string, string>();
  let n = 0;
  for (const [name] of [...uses].sort((a, b) => b[1] - a[1])) {
    let candidate: string;
    do candidate = `--_${(n++).toString(36)}`;
    while (uses.has(candidate));
    short.set(name, candidate);
  }
  return code.replace(/--_[\w-]+/g, (name) => short.get(name)!);
}

export function minifyHtml(text: string): string {
  return text
    .replace(/\s*\n\s*/g, '\n')
    .replace(/([<>])\n|\n(?=[<>])/g, '$1')
    .replace(/\n/g, ' ')
    .replace(/(\s[\w-]+=)"([\w-]+)"/g, '$1$2');
}

/**
 * The element bundle's build plugins: this one, the private state's short
 * names (`shorten-state.ts`) and Lit's hooks taken out (`strip-lit-hooks.ts`).
 * vite.config.ts registers them all with this call.
 */
export function minifyTemplates(): Plugin {
  return {
    name: 'liveop-minify-templates',
    async transform(code, id) {
      if (!/[\\/]widget[\\/][^\\/]+\.ts$/.test(id)) return null;
      const styles = id.endsWith('.styles.ts');
      if (!styles && code.includes('--_'))
        this.error(`${id}: the styles' private --_* properties are renamed; use none here`);
      if (!styles && !code.includes('html`')) return null;
      const ts = (await import('typescript')).default;
      const file = ts.createSourceFile(id, code, ts.ScriptTarget.Latest, true);
      const edits: [number, number][] = [];
      const visit = (node: import('typescript').Node): void => {
        const t = styles
          ? ts.isTemplateLiteral(node) && node
          : ts.isTaggedTemplateExpression(node) && node.tag.getText(file) === 'html' && node.template;
        if (t) {
          const parts = ts.isNoSubstitutionTemplateLiteral(t)
            ? [t]
            : [t.head, ...t.templateSpans.map((s) => s.literal)];
          for (const part of parts) {
            const closesWithBacktick = ts.isNoSubstitutionTemplateLiteral(part) || ts.isTemplateTail(part);
            edits.push([part.getStart(file) + 1, part.getEnd() - (closesWithBacktick ? 1 : 2)]);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(file);
      let out = '';
      let at = 0;
      for (const [start, end] of edits.sort((a, b) => a[0] - b[0])) {
        out += code.slice(at, start) + (styles ? minifyCss : minifyHtml)(code.slice(start, end));
        at = end;
      }
      out += code.slice(at);
      return { code: styles ? shortenPrivateProperties(out) : out, map: null };
    },
  };
}
