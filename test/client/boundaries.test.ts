/**
 * liveop/client ships to browsers, workers, Deno and Bun: it may import only
 * the protocol module from the rest of the repository, no package at all,
 * and use no Node API. Checked on its sources (imports read by TypeScript's
 * pre-processor, as test/architecture.test.ts reads them).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const DIR = 'client';
const files = readdirSync(join(ROOT, DIR))
  .filter((name) => name.endsWith('.ts'))
  .map((name) => join(DIR, name));

describe('the client module', () => {
  it('imports only itself and protocol/index.ts, with .ts extensions, and no package', () => {
    for (const file of files) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      const specs = ts.preProcessFile(text, true, true).importedFiles.map((i) => i.fileName);
      const outside = specs.filter((spec) => {
        if (!spec.startsWith('.') || !spec.endsWith('.ts')) return true;
        const target = relative(ROOT, resolve(ROOT, dirname(file), spec));
        return !(dirname(target) === DIR || target === 'protocol/index.ts');
      });
      expect({ file, outside }).toEqual({ file, outside: [] });
    }
  });

  it('uses no Node API: no node: modules, process, Buffer, setImmediate or NodeJS types', () => {
    const nodeOnly = /\b(process\.|Buffer\b|setImmediate\b|NodeJS\.|require\()|['"]node:/;
    for (const file of files) {
      const code = readFileSync(join(ROOT, file), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      expect({ file, match: code.match(nodeOnly)?.[0] ?? null }).toEqual({ file, match: null });
    }
  });
});
