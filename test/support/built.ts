/**
 * Tests that run what `npm run build` makes check first that it is there and
 * newer than its sources, so a stale build fails with the fix in the message.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newestSource(dir: string): { file: string; mtimeMs: number } | null {
  let newest: { file: string; mtimeMs: number } | null = null;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const candidate = entry.isDirectory()
      ? newestSource(path)
      : /\.(ts|html)$/.test(entry.name)
        ? { file: path, mtimeMs: statSync(path).mtimeMs }
        : null;
    if (candidate && (newest === null || candidate.mtimeMs > newest.mtimeMs)) newest = candidate;
  }
  return newest;
}

export function assertBuilt(output: string, sourceDirs: string[]): void {
  if (!existsSync(output)) throw new Error(`${output} is missing: run \`npm run build\` first`);
  const built = statSync(output).mtimeMs;
  const stale = sourceDirs.map(newestSource).filter((s) => s !== null && s.mtimeMs > built);
  if (stale.length > 0) {
    throw new Error(`${output} is older than ${stale.map((s) => s!.file).join(', ')}: run \`npm run build\` first`);
  }
}
