import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./packages/${p}`, import.meta.url));

// Tests import the packages by name and run against their sources, so a test
// run never depends on a stale build. The tarball smoke test covers the builds.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@lorafuse\/core\/testing$/, replacement: src('core/src/testing/index.ts') },
      { find: /^@lorafuse\/core\/node$/, replacement: src('core/src/node/index.ts') },
      { find: /^@lorafuse\/core$/, replacement: src('core/src/index.ts') },
      { find: /^@lorafuse\/plugins$/, replacement: src('plugins/src/index.ts') },
      { find: /^@lorafuse\/demo$/, replacement: src('demo/src/index.ts') },
      { find: /^@lorafuse\/backend-wasm$/, replacement: src('backend-wasm/src/index.ts') },
      { find: /^@lorafuse\/backend-webgpu$/, replacement: src('backend-webgpu/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'tests/**/*.test.ts'],
    // Watchdogs for a hung test, not bounds on its speed: a test that takes
    // 20 s on an idle machine must still pass with every core busy.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
