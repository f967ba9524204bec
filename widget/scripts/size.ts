/**
 * Prints the minified and gzipped size of the element bundles and fails when
 * `dist/live-operation.js` (Lit included) is over 14 KB gzipped — 14 × 1024
 * bytes at gzip level 9, the size a browser downloads from a gzipping server —
 * and prints their Subresource Integrity hashes (what `/widget.json` serves
 * too, for the first). `dist/live-operation-list.js` (`<live-operation-list>`,
 * with Lit and `<live-operation>` inside) has no budget: its size is printed.
 * Both must be self-contained (their lazy chunks are loaded with `import()`).
 * Run after both `vite build`s: `tsx widget/scripts/size.ts`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const LIMIT = 14 * 1024;
const files = ['dist/live-operation.js', 'dist/live-operation-list.js'];

const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} KB`;
let failed = false;
for (const [i, file] of files.entries()) {
  const bytes = readFileSync(file);
  const gzipped = gzipSync(bytes, { level: 9 }).length;
  const over = i === 0 && gzipped > LIMIT;
  failed ||= over;
  // A bundle is one file a page loads whole: a static import of a chunk would leave part of it
  // (and of its size) outside the file its integrity hash and the budget cover.
  const staticImport = /^import\b|[;}]import\s*[{*]|\bfrom\s*["']\.{1,2}\//.exec(bytes.toString('utf8'));
  if (staticImport) {
    console.error(`${file} imports another file statically (${staticImport[0]}…): it must be self-contained`);
    failed = true;
  }
  console.log(
    `${file.padEnd(38)} ${kb(bytes.length).padStart(9)} min  ${kb(gzipped).padStart(9)} min+gzip (${gzipped} bytes)${
      i === 0 ? `  limit ${kb(LIMIT)}${over ? '  OVER THE LIMIT' : ''}` : ''
    }`,
  );
  console.log(`${''.padEnd(38)} integrity sha384-${createHash('sha384').update(bytes).digest('base64')}`);
}
if (failed) {
  console.error(`dist/live-operation.js is over ${kb(LIMIT)} gzipped`);
  process.exit(1);
}
