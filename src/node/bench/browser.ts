/**
 * The browser half of `npm run bench`: builds the app, serves it with `vite preview`, and drives
 * bench.html in Debian's Chromium. Not a test: it only measures.
 */
import { cpus, loadavg } from 'node:os';
import { build, preview } from 'vite';
import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium';
import type { FinetuneBenchRun } from '../../bench/page';
import type { ExplanationTimes } from '../../model/predictor';

type Latency = { times: number[]; tensorsBefore: number; tensorsAfter: number; backend: string } | { error: string };
type FinetuneRuns = { runs: FinetuneBenchRun[] } | { error: string };
type Rollouts = { rollouts: Record<string, number[]> } | { error: string };
type Explanations = { times: ExplanationTimes; backend: string; loadBefore: string } | { error: string };

export interface FinetuneBenchOptions {
  /** Train events of the one epoch (the data is cut to give about this many). */
  trainEvents: number;
  /** Repetitions per backend (each in a fresh page and worker). */
  repetitions: Partial<Record<'webgpu' | 'wasm' | 'webgl' | 'cpu', number>>;
  /** A run still training after this many seconds is cancelled and its figure marked capped. */
  maxSeconds: Partial<Record<'webgpu' | 'wasm' | 'webgl' | 'cpu', number>>;
}

export interface BrowserBenchOptions {
  runs: number;
  contextEvents: number;
  /** Cold and cached model loads measured. */
  loads?: number;
  latency?: boolean;
  generation?: number[];
  finetune?: FinetuneBenchOptions;
  /** Explanation latency on wasm (the targets), interleaved with predictions. */
  explain?: { runs: number };
  /** Port of the `vite preview` server it starts (default 4174; another one lets two checkouts measure side by side). */
  port?: number;
}

export async function runBrowserBench(options: BrowserBenchOptions) {
  const { runs, contextEvents, loads = 7, latency: measureLatency = true, generation, finetune, explain, port = 4174 } = options;
  await build({ logLevel: 'warn' });
  const server = await preview({ preview: { port, strictPort: true, host: '127.0.0.1' }, logLevel: 'warn' });
  const url = `http://127.0.0.1:${port}/bench.html`;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'] });
  try {
    const cold: number[] = [];
    const cached: number[] = [];
    for (let i = 0; i < (measureLatency ? loads : 0); i++) {
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
    for (const backend of measureLatency ? (['webgpu', 'wasm', 'webgl', 'cpu'] as const) : []) {
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
    const generationRuns: Record<string, Rollouts> = {};
    for (const backend of generation ? (['wasm', 'webgl', 'cpu', 'webgpu'] as const) : []) {
      const context = await browser.newContext();
      const page = await context.newPage();
      try {
        await page.goto(url);
        await page.waitForSelector('body[data-ready="true"]');
        // Slow backends (software WebGPU, plain-JS cpu, webgl here) get one repetition and skip the 1,000-event recompute.
        const slow = backend !== 'wasm';
        generationRuns[backend] = {
          rollouts: await page.evaluate(([b, lengths, reps, skip]) => window.behavegptBench.generation(b, lengths, reps, skip), [backend, generation!, slow ? 1 : 3, slow ? 1000 : 0] as const),
        };
        console.log(`  generation ${backend}: ${JSON.stringify(generationRuns[backend])}`);
      } catch (e) {
        generationRuns[backend] = { error: (e as Error).message.split('\n')[0] };
      } finally {
        await context.close();
      }
    }
    const finetuneRuns: Record<string, FinetuneRuns> = {};
    for (const backend of finetune ? (['wasm', 'cpu', 'webgl', 'webgpu'] as const) : []) {
      const { trainEvents, repetitions, maxSeconds } = finetune!;
      const result: FinetuneBenchRun[] = [];
      try {
        for (let r = 0; r < (repetitions[backend] ?? 1); r++) {
          const context = await browser.newContext();
          const page = await context.newPage();
          try {
            await page.goto(url);
            await page.waitForSelector('body[data-ready="true"]');
            const run = await page.evaluate(([b, e, s]) => window.behavegptBench.finetune(b, e, s), [backend, trainEvents, maxSeconds[backend] ?? 600] as const);
            console.log(
              `  fine-tune ${backend} run ${r + 1}: ${run.steps}/${run.totalSteps} steps, ${run.trainEvents} train events, ${run.seconds.toFixed(1)} s, ` +
                `${Math.round(run.eventsPerSecond)} events/s${run.capped ? ' (capped)' : ''}`,
            );
            result.push(run);
          } finally {
            await context.close();
          }
        }
        finetuneRuns[backend] = { runs: result };
      } catch (e) {
        finetuneRuns[backend] = result.length ? { runs: result } : { error: (e as Error).message.split('\n')[0] };
      }
    }
    let explanations: Explanations | undefined;
    if (explain) {
      const context = await browser.newContext();
      const page = await context.newPage();
      try {
        await page.goto(url);
        await page.waitForSelector('body[data-ready="true"]');
        const loadBefore = `load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`;
        explanations = { ...(await page.evaluate(([r, c]) => window.behavegptBench.explanations('wasm', r, c), [explain.runs, contextEvents] as const)), loadBefore };
      } catch (e) {
        explanations = { error: (e as Error).message.split('\n')[0] };
      } finally {
        await context.close();
      }
    }
    return { version: browser.version(), cold, cached, latency, generation: generationRuns, finetune: finetuneRuns, explain: explanations };
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  }
}
