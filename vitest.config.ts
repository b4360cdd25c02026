import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Interop suites need Debian packages and root; .ci/run runs them separately.
    exclude: ['test/interop/**', 'node_modules/**', 'dist/**'],
    // Each run's temporary files in one directory, removed at its end (test/setup/temp-root.ts).
    globalSetup: ['test/setup/temp-root.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
