import { defineConfig } from 'vitest/config';

// `npm run test:cluster`: applies dist/<env> to a real API server (test/cluster/README.md).
// Kept apart from vitest.config.mts (which excludes test/cluster/**): it starts processes and
// takes minutes, not seconds.
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    globalSetup: ['test/cluster/global-setup.ts'],
    // One control plane at a time: the machine has 2 cores, and each test file owns its clusters.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 300_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
    reporters: ['verbose'],
  },
});
