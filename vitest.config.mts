import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The example app imports the package by name, as its users do (vitest runs from the repository root).
  resolve: { alias: [{ find: /^stackport$/, replacement: resolve('index.ts') }] },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/tmpdir.global.ts'],
    exclude: ['test/cluster/**', 'test/runtime/**', 'node_modules/**'],
    testTimeout: 30_000,
  },
});
