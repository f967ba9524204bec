/**
 * Prints what `npm pack` would put in the tarball — its files and sizes —
 * and fails when something that is not for users got in (tests, bench, CI
 * scripts, TypeScript sources: the source maps carry their sources inline).
 *
 *   tsx server/scripts/pack-report.ts
 */
import { execFileSync } from 'node:child_process';

interface PackFile {
  path: string;
  size: number;
}
const [pack] = JSON.parse(
  execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' }),
) as { filename: string; size: number; unpackedSize: number; files: PackFile[] }[];
if (!pack) throw new Error('npm pack answered nothing');

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
const groups = new Map<string, { files: number; bytes: number }>();
for (const file of pack.files) {
  const group = file.path.includes('/') ? `${file.path.slice(0, file.path.lastIndexOf('/'))}/` : file.path;
  const entry = groups.get(group) ?? { files: 0, bytes: 0 };
  entry.files += 1;
  entry.bytes += file.size;
  groups.set(group, entry);
}
console.log(`${pack.filename}: ${pack.files.length} files, ${kb(pack.size)} packed, ${kb(pack.unpackedSize)} unpacked`);
for (const [group, { files, bytes }] of [...groups].sort()) {
  console.log(`  ${group.padEnd(30)} ${String(files).padStart(4)} files ${kb(bytes).padStart(10)}`);
}

const unwanted = pack.files.filter(
  (f) =>
    /^(test|bench|\.ci|demo)\//.test(f.path) ||
    /\.test\.|\/scripts\//.test(f.path) ||
    (/\.ts$/.test(f.path) && !/\.d\.ts$/.test(f.path)),
);
if (unwanted.length > 0) {
  console.error(`not for the tarball:\n${unwanted.map((f) => `  ${f.path}`).join('\n')}`);
  process.exit(1);
}
