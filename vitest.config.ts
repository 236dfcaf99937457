import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources: no build step between an edit and a test.
    alias: {
      '@edge-bci/core': src('core'),
      '@edge-bci/decoders': src('decoders'),
      '@edge-bci/device': src('device'),
      '@edge-bci/cli': src('cli'),
    },
  },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'apps/*/src/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The JSON report is what .ci/run reads to print its closing `N passed, N failed` line.
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
  },
});
