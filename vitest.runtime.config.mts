import { defineConfig } from 'vitest/config';

// `npm run test:runtime`: a real single-node cluster (scripts/node/up.sh) brought up once for the
// whole run by the global setup; test/runtime/README.md says what it proves. Kept apart from
// vitest.config.mts (which excludes test/runtime/**): it needs root, starts daemons and takes minutes.
export default defineConfig({
  test: {
    include: ['test/runtime/**/*.test.ts'],
    globalSetup: ['test/runtime/global-setup.ts'],
    // One node, shared: files run one after another, each in its own namespaces.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 240_000,
    hookTimeout: 600_000,
    teardownTimeout: 120_000,
    reporters: ['verbose'],
  },
});
