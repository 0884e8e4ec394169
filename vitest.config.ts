import { configDefaults, defineConfig } from 'vitest/config';

// Unit tests only: e2e/*.spec.ts belong to Playwright (`npm run test:e2e`).
export default defineConfig({
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    exclude: [...configDefaults.exclude, 'e2e/**', 'dist/**'],
    environment: 'node',
  },
});
