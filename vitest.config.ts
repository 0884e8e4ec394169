import { configDefaults, defineConfig } from 'vitest/config';

// Unit tests only: e2e/*.spec.ts belong to Playwright (`npm run test:e2e`).
export default defineConfig({
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    exclude: [...configDefaults.exclude, 'e2e/**', 'dist/**'],
    environment: 'node',
    // Correctness, not speed, is tested here: on a loaded 2-core machine a test that takes 4 s alone
    // can take 15. Speed is checked by benchmark commands.
    testTimeout: 60_000,
  },
});
