import minifyHtmlLiterals from '@lit-labs/rollup-plugin-minify-html-literals';
import { defineConfig } from 'vitest/config';

// One config for the element's self-contained bundle (`npm run build`: dist/live-operation.js,
// served at /widget.js) and the tests. Apps that bundle their own Lit import `liveop/element`.

export default defineConfig({
  // Lit's own minifier for what is inside the element's html`` and css`` templates (whitespace, comments); it
  // leaves Lit's code alone. Only when building: the tests run the sources as they are.
  plugins: [{ ...minifyHtmlLiterals({ include: ['widget/**/*.ts'], failOnError: true }), apply: 'build' }],
  build: {
    lib: {
      entry: 'widget/live-operation-define.ts',
      formats: ['es'],
      fileName: () => 'live-operation.js',
    },
    outDir: 'dist',
    // dist/ also holds the library (dist/lib) and the server bundles the other build steps make.
    emptyOutDir: false,
    target: 'es2022',
    minify: true,
    // widget/scripts/size.ts reports the size that counts (gzip -9, against the 14 KB budget).
    reportCompressedSize: false,
    rolldownOptions: {
      // Vite keeps whitespace in ES library builds; this file goes straight to browsers, so minify fully.
      // Each language the element ships is a chunk of its own, loaded only by a page in that language;
      // the server hands them out beside the bundle (/widget-chunks/…).
      output: { minify: true, comments: false, chunkFileNames: 'widget-chunks/[name]-[hash].js' },
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Fails the run when a process a test started outlives it.
    globalSetup: ['test/support/survivors.ts'],
    // Real servers on loopback ports and real browsers: give them room. Three
    // files at a time on this 2-core machine: much of a file's time is spent
    // waiting on a browser, a spawned process or a lock, so a third keeps the
    // cores busier; a fourth only adds contention (see docs/BENCHMARKS.md).
    testTimeout: 20_000,
    hookTimeout: 30_000,
    maxWorkers: 3,
    // Each worker keeps its modules from one file to the next instead of importing the server, the
    // protocol and Lit again for every file: a third of the suite's CPU (docs/BENCHMARKS.md). It asks
    // of every test what they already do: start their own servers and clocks, leave no global mocked.
    isolate: false,
    // Memory tests measure the heap after a forced collection.
    execArgv: ['--expose-gc'],
    reporters: ['default'],
  },
});
