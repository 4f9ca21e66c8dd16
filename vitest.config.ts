import { defineConfig } from 'vitest/config';

// Integration tests share one Docker engine and one AIRLOCK_HOME per file; running files one at
// a time keeps the 2-core CI machine from timing out on container starts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
