import { defineConfig } from 'vitest/config';

// The acceptance suite (README, "Acceptance suite"): one file of scenarios run in order against one
// host, in a single forked process so that Ctrl-C/SIGTERM reach its clean-up handler.
export default defineConfig({
  test: {
    include: ['test/acceptance/**/*.acceptance.ts'],
    testTimeout: 900_000,
    hookTimeout: 900_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    sequence: { concurrent: false },
    reporters: ['verbose'],
  },
});
