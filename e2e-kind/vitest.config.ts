import { defineConfig } from 'vitest/config';

/** The kind suite (`npx vitest run --config e2e-kind/vitest.config.ts`, started by e2e-kind/run.sh). */
export default defineConfig({
  test: {
    include: ['e2e-kind/**/*.e2e.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    // One cluster, one gateway: scenarios run in order, like the local acceptance file.
    fileParallelism: false,
  },
});
