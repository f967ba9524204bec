/**
 * `npm run analyze` (`cem analyze`): custom-elements.json from the two
 * element classes' JSDoc and `static properties`.
 */

/**
 * Lit's `state: true` makes a reactive property internal: it has no
 * attribute (https://lit.dev/docs/components/properties/#internal-reactive-state),
 * but the analyzer's Lit support lists one for every entry of `static
 * properties` that does not say `attribute: false`
 * (open-wc/custom-elements-manifest#294). This takes those attributes back out.
 */
function internalStatePlugin() {
  /** Class name → the names of its `state: true` properties. */
  const internal = new Map();
  return {
    name: 'liveop-lit-internal-state',
    analyzePhase({ ts, node }) {
      if (!ts.isClassDeclaration(node) || !node.name) return;
      for (const member of node.members) {
        const isStatic = member.modifiers?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword);
        if (!isStatic || member.name?.getText() !== 'properties') continue;
        if (!member.initializer || !ts.isObjectLiteralExpression(member.initializer)) continue;
        const names = member.initializer.properties
          .filter(
            (entry) =>
              ts.isPropertyAssignment(entry) &&
              ts.isObjectLiteralExpression(entry.initializer) &&
              entry.initializer.properties.some(
                (option) =>
                  ts.isPropertyAssignment(option) &&
                  option.name.getText() === 'state' &&
                  option.initializer.kind === ts.SyntaxKind.TrueKeyword,
              ),
          )
          .map((entry) => entry.name.getText());
        internal.set(node.name.getText(), new Set(names));
      }
    },
    moduleLinkPhase({ moduleDoc }) {
      for (const declaration of moduleDoc.declarations ?? []) {
        const names = internal.get(declaration.name);
        if (!names) continue;
        declaration.attributes = declaration.attributes?.filter((attribute) => !names.has(attribute.fieldName));
        for (const member of declaration.members ?? []) if (names.has(member.name)) delete member.attribute;
      }
    },
  };
}

export default {
  globs: ['widget/live-operation.ts', 'widget/live-operation-list.ts'],
  litelement: true,
  plugins: [internalStatePlugin()],
};
