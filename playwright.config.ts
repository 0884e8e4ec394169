import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './src/node/chromium';

// E2E_PORT lets two checkouts run their suites side by side without sharing (reusing) one server.
const PORT = Number(process.env.E2E_PORT ?? 4173);

/**
 * End-to-end tests of the built app (`vite build` + `vite preview`) in Debian's Chromium, once
 * with a (software, SwiftShader) WebGPU adapter and once without WebGPU.
 */
export default defineConfig({
  testDir: 'e2e',
  // WebGPU on SwiftShader is slow: model load with the forced backend can take a while.
  timeout: 180_000,
  expect: { timeout: 60_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: process.env.CI ? [['list'], ['html', { open: 'never' }]] : [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    viewport: { width: 1200, height: 900 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    // The app's service worker serves requests that page.route would never see (fault injection):
    // blocked except where a spec allows it (e2e/offline.spec.ts).
    serviceWorkers: 'block',
  },
  webServer: {
    command: `npm run build && npm run preview -- --port ${PORT} --strictPort`,
    url: `http://127.0.0.1:${PORT}/`,
    reuseExistingServer: !process.env.CI,
    timeout: 180_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
  projects: [
    {
      name: 'webgpu-available',
      use: {
        browserName: 'chromium',
        launchOptions: { executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'] },
      },
    },
    {
      name: 'webgpu-unavailable',
      use: {
        browserName: 'chromium',
        launchOptions: { executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, '--disable-webgpu'] },
      },
    },
  ],
});
