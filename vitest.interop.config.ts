import { defineConfig } from 'vitest/config';

// Interop suites: real Postfix, smtp-sink and dnsmasq started by
// test/interop/setup.sh (which runs this config). Not part of `npm test`.
export default defineConfig({
  test: {
    include: ['test/interop/**/*.test.ts'],
    // Each run's temporary files in one directory, removed at its end (test/setup/temp-root.ts).
    globalSetup: ['test/setup/temp-root.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
