import { defineConfig } from 'vitest/config';

// One config for the element's library build (`npm run build`) and the tests.
export default defineConfig({
  build: {
    lib: {
      entry: 'widget/live-operation-define.ts',
      formats: ['es'],
      fileName: () => 'live-operation.js',
    },
    outDir: 'dist',
    target: 'es2022',
    minify: true,
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Real servers on loopback ports and real browsers: give them room, but
    // keep two files at a time on this 2-core machine.
    testTimeout: 20_000,
    hookTimeout: 30_000,
    maxWorkers: 2,
    // Memory tests measure the heap after a forced collection.
    execArgv: ['--expose-gc'],
    reporters: ['default'],
  },
});
