/**
 * Bounds on free-form JSON (a result's `data`, an operation's input, any
 * request body). `JSON.parse` takes any depth, but `JSON.stringify` recurses
 * and throws past a few thousand levels — so a value nested 20,000 deep is
 * accepted by the parser and then breaks every encoder that meets it. This
 * walk is iterative: it cannot itself overflow the stack, whatever it is given.
 */

export interface JsonShapeProblem {
  /** Where it breaks the limit: `0.data.0.0…` (segments past the first six elided). */
  path: string;
  problem: string;
}

interface Frame {
  value: unknown;
  depth: number;
  key: string;
  parent: Frame | null;
}

/**
 * The first place where `value` nests deeper than `maxDepth` (a scalar is
 * depth 0, `[1]` depth 1), or null when it does not.
 */
export function findTooDeep(value: unknown, maxDepth: number): JsonShapeProblem | null {
  const stack: Frame[] = [{ value, depth: 0, key: '', parent: null }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const node = frame.value;
    if (node === null || typeof node !== 'object') continue;
    const depth = frame.depth + 1;
    if (depth > maxDepth) return { path: pathOf(frame), problem: `nests deeper than ${maxDepth} levels` };
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child = node[i];
        if (child !== null && typeof child === 'object') {
          stack.push({ value: child, depth, key: String(i), parent: frame });
        }
      }
    } else {
      for (const key in node) {
        const child = (node as Record<string, unknown>)[key];
        if (child !== null && typeof child === 'object') stack.push({ value: child, depth, key, parent: frame });
      }
    }
  }
  return null;
}

function pathOf(frame: Frame): string {
  const keys: string[] = [];
  for (let f: Frame | null = frame; f !== null && f.parent !== null; f = f.parent) keys.push(f.key);
  keys.reverse();
  return keys.length > 6 ? `${keys.slice(0, 6).join('.')}…` : keys.join('.');
}
