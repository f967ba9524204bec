/**
 * Bundles a server entry point into one ESM file for plain `node`: our
 * TypeScript compiled in, packages left to node_modules, a source map beside
 * it. `npm run build:server` makes `dist/server.js` (what `npm start` runs);
 * the bench compiles its server child with the same settings.
 *
 *   tsx server/scripts/bundle.ts [ENTRY OUTFILE]
 */
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

export function bundleServer(entry: string, outfile: string): void {
  buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    sourcemap: true,
    outfile,
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [entry = 'demo/main.ts', outfile = 'dist/server.js'] = process.argv.slice(2);
  bundleServer(entry, outfile);
}
