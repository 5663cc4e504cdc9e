import { defineConfig } from 'vitest/config';
import runtime from './vitest.runtime.config.mts';

// The edge test (test/runtime/edge.test.ts) on a node of its own, after the other runtime files:
// the controllers it installs (cert-manager's admission webhook, the CRDs) change what every other
// file's apply meets, so it never shares a node with them. `npm run test:runtime` runs both.
export default defineConfig({ ...runtime, test: { ...runtime.test, include: ['test/runtime/edge.test.ts'], exclude: ['node_modules/**'] } });
