/**
 * The browser half of `npm run bench`: builds the app, serves it with `vite preview`, and drives
 * bench.html in Debian's Chromium. Not a test: it only measures.
 */
import { build, preview } from 'vite';
import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium';

type Latency = { times: number[]; tensorsBefore: number; tensorsAfter: number; backend: string } | { error: string };

export async function runBrowserBench(options: { runs: number; contextEvents: number; loads?: number }) {
  const { runs, contextEvents, loads = 7 } = options;
  await build({ logLevel: 'warn' });
  const server = await preview({ preview: { port: 4174, strictPort: true, host: '127.0.0.1' }, logLevel: 'warn' });
  const url = 'http://127.0.0.1:4174/bench.html';
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'] });
  try {
    const cold: number[] = [];
    const cached: number[] = [];
    for (let i = 0; i < loads; i++) {
      // A fresh context has an empty HTTP cache and Cache API: a first visit.
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(url);
      await page.waitForSelector('body[data-ready="true"]');
      const first = await page.evaluate(() => window.behavegptBench.load('wasm'));
      if (first.fromCache) throw new Error('cold load unexpectedly came from the cache');
      cold.push(first.ms);
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
      const second = await page.evaluate(() => window.behavegptBench.load('wasm'));
      if (!second.fromCache) throw new Error('second load did not come from the cache');
      cached.push(second.ms);
      await context.close();
    }
    const latency: Record<string, Latency> = {};
    for (const backend of ['webgpu', 'wasm', 'webgl', 'cpu'] as const) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(url);
      await page.waitForSelector('body[data-ready="true"]');
      // Software WebGPU is ~30× slower: fewer runs keep the benchmark short, still ≥ 50.
      const n = backend === 'webgpu' || backend === 'webgl' ? Math.max(50, Math.floor(runs / 2)) : runs;
      try {
        latency[backend] = await page.evaluate(([b, r, c]) => window.behavegptBench.latency(b, r, c), [backend, n, contextEvents] as const);
      } catch (e) {
        latency[backend] = { error: (e as Error).message.split('\n')[0] };
      }
      await context.close();
    }
    return { version: browser.version(), cold, cached, latency };
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  }
}
