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
import { median } from './figures';

type Latency =
  | { times: number[]; tensorsBefore: number; tensorsAfter: number; backend: string; engine: string }
  | { error: string };
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
  /** Explanation latency on wasm (the issue's targets), interleaved with predictions. */
  explain?: { runs: number };
  /** Port of the `vite preview` server it starts (default 4174; another one lets two checkouts measure side by side). */
  port?: number;
  /** The engine comparison (bench/engines.ts). */
  engines?: EngineBenchOptions;
}

export interface EngineBenchOptions {
  /** Query batches (positions per call); 1 is the one-prediction latency. */
  batches: number[];
  /** Runs per engine at batch 1 (p99 needs ≥ 100). */
  latencyRuns: number;
  /** Runs per engine at larger batches and on the log input. */
  runs: number;
  /** Windows of SmartThings US test in the log input (0: none). */
  logWindows: number;
  /** An engine whose calls on an input add up to more than this many ms stops there after 3 runs (1 if a single call does), and skips larger batches. */
  budgetMs: number;
}

/** One engine's times (ms per call) per input, interleaved with every other engine's. */
export interface EngineRuns {
  engines: import('../../bench/engines').EngineInfo[];
  inputs: import('../../bench/engines').InputInfo[];
  times: Record<string, Record<string, number[]>>;
  /** Engines stopped on an input by the budget, with why. */
  capped: Record<string, Record<string, string>>;
  adapter: string;
  loadBefore: number;
  loadAfter: number;
}

export async function runBrowserBench(options: BrowserBenchOptions) {
  const {
    runs,
    contextEvents,
    loads = 7,
    latency: measureLatency = true,
    generation,
    finetune,
    explain,
    port = 4174,
  } = options;
  await build({ logLevel: 'warn' });
  // Cross-origin isolated, so that performance.now() in the page is precise to microseconds, not
  // the 0.1 ms it is coarsened to otherwise (one prediction takes a few tenths of a millisecond).
  const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
  const server = await preview({ preview: { port, strictPort: true, host: '127.0.0.1', headers }, logLevel: 'warn' });
  const url = `http://127.0.0.1:${port}/bench.html`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'],
  });
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
        latency[backend] = await page.evaluate(([b, r, c]) => window.behavegptBench.latency(b, r, c, 'tfjs'), [
          backend,
          n,
          contextEvents,
        ] as const);
        // The app's own choice on wasm: the engine measured fastest for one prediction (plain JS here).
        if (backend === 'wasm')
          latency['wasm:auto'] = await page.evaluate(([r, c]) => window.behavegptBench.latency('wasm', r, c, 'auto'), [
            n,
            contextEvents,
          ] as const);
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
          rollouts: await page.evaluate(
            ([b, lengths, reps, skip]) => window.behavegptBench.generation(b, lengths, reps, skip),
            [backend, generation!, slow ? 1 : 3, slow ? 1000 : 0] as const,
          ),
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
            const run = await page.evaluate(([b, e, s]) => window.behavegptBench.finetune(b, e, s), [
              backend,
              trainEvents,
              maxSeconds[backend] ?? 600,
            ] as const);
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
        explanations = {
          ...(await page.evaluate(([r, c]) => window.behavegptBench.explanations('wasm', r, c), [
            explain.runs,
            contextEvents,
          ] as const)),
          loadBefore,
        };
      } catch (e) {
        explanations = { error: (e as Error).message.split('\n')[0] };
      } finally {
        await context.close();
      }
    }
    let engineRuns: EngineRuns | { error: string } | undefined;
    if (options.engines) {
      const context = await browser.newContext();
      const page = await context.newPage();
      try {
        await page.goto(url);
        await page.waitForSelector('body[data-ready="true"]');
        engineRuns = await compareEngines(page, options.engines);
      } catch (e) {
        engineRuns = { error: (e as Error).message.split('\n')[0] };
      } finally {
        await context.close();
      }
    }
    return {
      version: browser.version(),
      cold,
      cached,
      latency,
      generation: generationRuns,
      finetune: finetuneRuns,
      explain: explanations,
      engines: engineRuns,
    };
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  }
}

/**
 * The engine comparison: every engine and input set up once in one page, then rounds in which
 * each engine runs once per input, the engine order rotating every round, so load on the
 * machine falls on all of them alike. Batch 1 gets `latencyRuns` rounds, the rest `runs`.
 */
async function compareEngines(page: import('@playwright/test').Page, o: EngineBenchOptions): Promise<EngineRuns> {
  const loadBefore = loadavg()[0];
  const { engines, inputs } = await page.evaluate((setup) => window.behavegptBench.engines.setup(setup), {
    tfjsBackends: ['wasm', 'webgpu', 'webgl', 'cpu'] as const,
    ortProviders: ['wasm', 'webgpu'] as const,
    batches: o.batches,
    logWindows: o.logWindows,
  } as never);
  for (const e of engines)
    console.log(
      `  engine ${e.id}: ${e.error ? `unavailable (${e.error})` : `ready, max |Δp| vs plain JS ${e.maxDifference ?? 0}`}`,
    );
  const ready = engines.filter((e) => !e.error).map((e) => e.id);
  const times: Record<string, Record<string, number[]>> = Object.fromEntries(ready.map((id) => [id, {}]));
  const capped: Record<string, Record<string, string>> = Object.fromEntries(ready.map((id) => [id, {}]));
  const stopped = new Set<string>(); // engines that went over the budget on a query batch: larger batches are skipped
  const ordered = [...inputs].sort((a, b) => a.positions - b.positions);
  for (const input of ordered) {
    const rounds = input.id === 'queries-1' ? o.latencyRuns : o.runs;
    const active = ready.filter((id) => input.id === 'log' || !stopped.has(id));
    for (const id of ready.filter((id) => !active.includes(id)))
      capped[id][input.id] = 'skipped: over the time budget at a smaller batch';
    for (const id of active) times[id][input.id] = [];
    const spent = new Map(active.map((id) => [id, 0]));
    const failed = new Set<string>();
    const call = async (id: string): Promise<number | null> => {
      try {
        return await page.evaluate(([e, i]) => window.behavegptBench.engines.runOnce(e, i), [id, input.id] as const);
      } catch (e) {
        const message = (e as Error).message.split('\n')[0].replace(/^page\.evaluate: /, '');
        console.log(`  ${id} on ${input.id} failed: ${message}`);
        capped[id][input.id] = `failed: ${message}`;
        failed.add(id);
        if (input.id !== 'log') stopped.add(id);
        return null;
      }
    };
    // One untimed call each (first-call compilation, buffer allocation).
    for (const id of active) await call(id);
    for (let round = 0; round < rounds; round++) {
      const running = active.filter(
        (id) => !failed.has(id) && !(capped[id][input.id] && times[id][input.id].length > 0),
      );
      if (running.length === 0) break;
      for (let k = 0; k < running.length; k++) {
        const id = running[(k + round) % running.length];
        const ms = await call(id);
        if (ms === null) continue;
        times[id][input.id].push(ms);
        spent.set(id, spent.get(id)! + ms);
        const n = times[id][input.id].length;
        if (!capped[id][input.id] && spent.get(id)! > o.budgetMs && (n >= 3 || ms > o.budgetMs / 3)) {
          capped[id][input.id] =
            `stopped after ${n} run${n === 1 ? '' : 's'} (${(spent.get(id)! / 1000).toFixed(1)} s, over the ${(o.budgetMs / 1000).toFixed(0)} s budget)`;
          if (input.id !== 'log') stopped.add(id);
        }
      }
    }
    console.log(
      `  engines on ${input.id}: ${active
        .filter((id) => times[id][input.id].length)
        .map((id) => `${id} ${median(times[id][input.id]).toFixed(2)} ms`)
        .join(', ')}`,
    );
  }
  const adapter = await page.evaluate(() => window.behavegptBench.engines.adapterInfo());
  return { engines, inputs, times, capped, adapter, loadBefore, loadAfter: loadavg()[0] };
}
