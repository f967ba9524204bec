/**
 * A build plugin that gives the element's private reactive state short names
 * in the bundle, as the minifier does for `#private` members. Lit's reactive
 * state has to be a named property (declared in `static properties` with
 * `state: true`), and no minifier may rename a named property on its own;
 * TypeScript says which ones are private, so this plugin runs before
 * TypeScript is stripped: each `private declare _name` of a class in
 * `widget/*.ts` becomes `_a`, `_b`… (the most used first) in that file, where
 * `static properties` declares it and wherever it is read or set as
 * `this._name`. Those are the only uses allowed: the name anywhere else (a
 * string such as `changed.has('_name')`, `other._name`, a destructuring)
 * fails the build rather than being left behind, and no short name is one
 * the file already uses. The TypeScript parser finds them, so strings,
 * templates and comments are never touched. The library build (`dist/lib`),
 * the types and the manifest keep the names as written.
 */
import type { Plugin } from 'vite';

/** `_a` … `_z`, then `_10`, `_11` …: all names a property may have. */
const shortName = (n: number): string => `_${(n + 10).toString(36)}`;

export function shortenState(): Plugin {
  return {
    name: 'liveop-shorten-state',
    transform: {
      // Before TypeScript is stripped, while `private declare` still says which names are private.
      order: 'pre',
      async handler(code, id) {
        if (!/[\\/]widget[\\/][^\\/]+\.ts$/.test(id) || !/\bdeclare\s+_/.test(code)) return null;
        const ts = (await import('typescript')).default;
        type Node = import('typescript').Node;
        const file = ts.createSourceFile(id, code, ts.ScriptTarget.Latest, true);
        const has = (node: Node, kind: import('typescript').SyntaxKind) =>
          ts.canHaveModifiers(node) && !!ts.getModifiers(node)?.some((m) => m.kind === kind);
        const each = (node: Node, visit: (node: Node) => void): void => {
          visit(node);
          ts.forEachChild(node, (child) => each(child, visit));
        };

        const names = new Set<string>();
        const words = new Set<string>();
        each(file, (node) => {
          if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) words.add(node.text);
          if (
            ts.isPropertyDeclaration(node) &&
            ts.isIdentifier(node.name) &&
            node.name.text.startsWith('_') &&
            has(node, ts.SyntaxKind.DeclareKeyword) &&
            has(node, ts.SyntaxKind.PrivateKeyword)
          )
            names.add(node.name.text);
        });
        if (!names.size) return null;

        /** A key of the object (or of an object spread into it) that `static properties` is set to. */
        const inStaticProperties = (node: Node): boolean => {
          for (let at = node.parent; at; at = at.parent) {
            if (ts.isPropertyDeclaration(at))
              return ts.isIdentifier(at.name) && at.name.text === 'properties' && has(at, ts.SyntaxKind.StaticKeyword);
            if (!ts.isObjectLiteralExpression(at) && !ts.isSpreadAssignment(at)) return false;
          }
          return false;
        };
        const uses = new Map<string, [start: number, end: number][]>([...names].map((name) => [name, []]));
        each(file, (node) => {
          const text = ts.isIdentifier(node) || ts.isStringLiteralLike(node) ? node.text : undefined;
          if (text === undefined || !names.has(text)) return;
          const parent = node.parent;
          const renamed =
            ts.isIdentifier(node) &&
            ((ts.isPropertyDeclaration(parent) && parent.name === node) ||
              (ts.isPropertyAccessExpression(parent) &&
                parent.name === node &&
                parent.expression.kind === ts.SyntaxKind.ThisKeyword) ||
              (ts.isPropertyAssignment(parent) && parent.name === node && inStaticProperties(parent)));
          if (!renamed) {
            const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
            this.error(`${id}:${line + 1}: the private state ${text} is used in a way shorten-state.ts cannot rename`);
          }
          uses.get(text)!.push([node.getStart(file), node.getEnd()]);
        });

        const edits: [start: number, end: number, name: string][] = [];
        let n = 0;
        for (const at of [...uses.values()].sort((a, b) => b.length - a.length)) {
          let short: string;
          do short = shortName(n++);
          while (words.has(short));
          for (const [start, end] of at) edits.push([start, end, short]);
        }
        let out = '';
        let last = 0;
        for (const [start, end, short] of edits.sort((a, b) => a[0] - b[0])) {
          out += code.slice(last, start) + short;
          last = end;
        }
        return { code: out + code.slice(last), map: null };
      },
    },
  };
}
