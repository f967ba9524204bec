/**
 * The layout docs/ARCHITECTURE.md describes, checked: who may import whom,
 * no import cycles, one job per module (each says which in its opening doc
 * comment), index files that only re-export, and a sanity bound on length. Imports are read with
 * TypeScript's own pre-processor (type-only imports count: a cycle of types
 * is still a cycle a reader has to untangle).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SOURCE_DIRS = ['protocol', 'client', 'server', 'widget'];

/**
 * A sanity bound, not a design rule: a module's size follows from its one job
 * (checked below by its doc comment), and a file past this many lines has
 * surely taken on a second one.
 */
const MAX_LINES = 800;

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'scripts' ? [] : sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.config.ts') ? [path] : [];
  });
}

interface Imports {
  files: string[];
  packages: string[];
}

function importsOf(file: string): Imports {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const found = ts.preProcessFile(text, true, true).importedFiles.map((i) => i.fileName);
  const files: string[] = [];
  const packages: string[] = [];
  for (const spec of found) {
    if (!spec.startsWith('.')) {
      packages.push(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      continue;
    }
    const base = relative(ROOT, resolve(ROOT, dirname(file), spec));
    const candidates = [`${base}.ts`, join(base, 'index.ts'), base];
    files.push(candidates.find((c) => allFiles.includes(c)) ?? `${base}.ts`);
  }
  return { files, packages };
}

const allFiles = SOURCE_DIRS.flatMap(sources);
const graph = new Map(allFiles.map((file) => [file, importsOf(file)]));
const under = (dir: string) => (file: string) => file.startsWith(`${dir}/`);

describe('the architecture', () => {
  it('keeps the protocol module free of dependencies: it imports nothing outside itself', () => {
    for (const file of allFiles.filter(under('protocol'))) {
      const { files, packages } = graph.get(file)!;
      expect({ file, packages }).toEqual({ file, packages: [] });
      expect({ file, outside: files.filter((f) => !under('protocol')(f)) }).toEqual({ file, outside: [] });
    }
  });

  it('keeps the core pure: it imports only itself, the protocol and zod', () => {
    for (const file of allFiles.filter(under('server/core'))) {
      const { files, packages } = graph.get(file)!;
      expect({ file, packages: packages.filter((p) => p !== 'zod') }).toEqual({ file, packages: [] });
      const outside = files.filter((f) => !under('server/core')(f) && !under('protocol')(f));
      expect({ file, outside }).toEqual({ file, outside: [] });
    }
  });

  it('lets the element import only the protocol module and lit from outside widget/ (its JSX typings: React and Vue)', () => {
    for (const file of allFiles.filter(under('widget'))) {
      const { files, packages } = graph.get(file)!;
      const allowed = under('widget/jsx')(file) ? ['react', 'vue'] : ['lit'];
      expect({ file, packages: packages.filter((p) => !allowed.includes(p)) }).toEqual({ file, packages: [] });
      const outside = files.filter((f) => !under('widget')(f) && !under('protocol')(f));
      expect({ file, outside }).toEqual({ file, outside: [] });
    }
  });

  /**
   * The map's arrows (docs/ARCHITECTURE.md, "Who may import whom"): what each
   * folder of server/ (and the top-level client/) may import from the others
   * (and from the top-level protocol/ and client/). The facade and the entry
   * files (liveop.ts, serve.ts, cli.ts, index.ts, …) compose them and may
   * import any.
   */
  const LAYERS: Record<string, { values: string[]; types?: string[] }> = {
    protocol: { values: [] },
    core: { values: ['protocol'] },
    store: { values: ['core', 'protocol'] },
    stream: { values: ['core', 'protocol'], types: ['store'] },
    sessions: { values: ['core', 'protocol'], types: ['store'] },
    runner: { values: ['core', 'protocol', 'store'], types: ['sessions'] },
    http: { values: ['core', 'protocol', 'sessions', 'store'], types: ['stream'] },
    client: { values: ['protocol'] },
    text: { values: ['protocol', 'client'] },
  };
  /** Arrows the map does not have yet, and why each is still there. */
  const KNOWN_CROSSINGS: Record<string, string> = {};

  it('keeps every folder of server/ and client/ to the arrows of the map', () => {
    const crossings: string[] = [];
    const folderOf = (file: string) => (file.startsWith('server/') ? file.split('/')[1]! : file.split('/')[0]!);
    for (const file of allFiles.filter((f) => under('server')(f) || under('client')(f))) {
      const from = folderOf(file);
      const layer = LAYERS[from];
      if (layer === undefined) continue; // an entry file: it composes the layers
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const target of graph.get(file)!.files) {
        const to = folderOf(target);
        if (to === from || to === 'widget') continue;
        const spec = relative(dirname(file), target).replace(/\\/g, '/');
        const typeOnly = new RegExp(
          `import type [^;]*from '(\\./)?${spec.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`,
        ).test(text);
        const allowed = layer.values.includes(to) || (typeOnly && (layer.types ?? []).includes(to));
        if (!allowed && !(`${file} → ${target}` in KNOWN_CROSSINGS)) crossings.push(`${file} → ${target}`);
      }
    }
    expect(crossings).toEqual([]);
  });

  it('has no import cycles', () => {
    const cycles: string[][] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const path: string[] = [];
    const visit = (file: string) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file]);
        return;
      }
      state.set(file, 'visiting');
      path.push(file);
      for (const next of graph.get(file)?.files ?? []) if (graph.has(next)) visit(next);
      path.pop();
      state.set(file, 'done');
    };
    for (const file of allFiles) visit(file);
    expect(cycles).toEqual([]);
  });

  /**
   * One job per module, as a reviewer checks it: every module under
   * protocol/, client/ and server/ opens (after a shebang) with a doc comment
   * whose first sentence says what it is for. When a change needs that
   * sentence to grow an "and", the change is a second job and goes in a module
   * of its own; when a file is split, each part gets a sentence of its own.
   */
  it('opens every module of protocol/, client/ and server/ with a doc comment saying its one job', () => {
    const undocumented: string[] = [];
    for (const file of allFiles.filter((f) => !under('widget')(f))) {
      const text = readFileSync(join(ROOT, file), 'utf8').replace(/^#!.*\n/, '');
      const doc = /^\/\*\*([\s\S]*?)\*\//.exec(text)?.[1];
      const words = (doc ?? '')
        .replace(/^\s*\*/gm, ' ')
        .trim()
        .split(/\s+/)
        .filter(Boolean);
      if (words.length < 3) undocumented.push(file);
    }
    expect(undocumented).toEqual([]);
  });

  it("keeps each folder's index.ts to re-exports (what the folder offers, no code of its own)", () => {
    const withCode: string[] = [];
    for (const file of allFiles.filter((f) => f.endsWith('/index.ts'))) {
      const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest);
      const code = source.statements.filter((s) => !(ts.isExportDeclaration(s) && s.moduleSpecifier !== undefined));
      if (code.length > 0) withCode.push(file);
    }
    expect(withCode).toEqual([]);
  });

  it(`keeps source files under ${MAX_LINES} lines`, () => {
    const long = allFiles
      .map((file) => ({ file, lines: readFileSync(join(ROOT, file), 'utf8').split('\n').length }))
      .filter(({ lines }) => lines > MAX_LINES);
    expect(long).toEqual([]);
  });
});

describe('the tests', () => {
  /** Every test file (support and chaos modules too): they share their worker's modules (vite.config.ts, `isolate: false`). */
  const testFiles = sources('test');

  it('mock no module and leave no global, timer or environment changed for the next file in their worker', () => {
    const leaks: string[] = [];
    for (const file of testFiles) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      // A module mock would stay in the module cache the worker's next files import from.
      if (/\bvi\.(mock|doMock|hoisted)\(/.test(text)) leaks.push(`${file}: mocks a module`);
      const undone: Array<[RegExp, RegExp, string]> = [
        [/\bvi\.useFakeTimers\(/, /\bvi\.useRealTimers\(/, 'fake timers without vi.useRealTimers()'],
        [/\bvi\.stubGlobal\(/, /\bvi\.unstubAllGlobals\(/, 'a stubbed global without vi.unstubAllGlobals()'],
        [/\bvi\.stubEnv\(/, /\bvi\.unstubAllEnvs\(/, 'a stubbed variable without vi.unstubAllEnvs()'],
      ];
      for (const [done, undo, what] of undone) if (done.test(text) && !undo.test(text)) leaks.push(`${file}: ${what}`);
    }
    expect(leaks).toEqual([]);
  });
});
