/**
 * The framework typings type-check what users write: checked by `tsc
 * --noEmit` (the test command's first step) through the files below; this
 * test only makes sure they are there to be checked.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('framework typings', () => {
  it('are checked against a React and a Vue consumer', () => {
    expect(existsSync(new URL('./react-consumer.tsx', import.meta.url))).toBe(true);
    expect(existsSync(new URL('./vue-consumer.ts', import.meta.url))).toBe(true);
  });
});
