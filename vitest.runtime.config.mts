import { defineConfig } from 'vitest/config';

// `npm run test:runtime`: a real single-node cluster (scripts/node/up.sh) brought up once for the
// whole run by the global setup; test/runtime/README.md says what it proves. Kept apart from
// vitest.config.mts (which excludes test/runtime/**): it needs root, starts daemons and takes minutes.
export default defineConfig({
  test: {
    include: ['test/runtime/**/*.test.ts'],
    // The edge test runs on a node of its own afterwards (vitest.runtime-edge.config.mts).
    exclude: ['test/runtime/edge.test.ts', 'node_modules/**'],
    globalSetup: ['test/runtime/global-setup.ts'],
    // One node, shared by all files at once: each file uses namespaces of its own (the reference
    // stack's environments too, through the spec's namespace), and most of each file's time is
    // waiting for pods and Jobs, so side by side they finish much sooner than one after another.
    // One worker per file (the default would be one fewer than the cores).
    fileParallelism: true,
    maxWorkers: 5,
    pool: 'forks',
    // Bounds, not expectations: with every file running at once on two cores a step takes longer.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    teardownTimeout: 120_000,
    reporters: ['verbose'],
  },
});
