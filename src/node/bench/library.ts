/**
 * The library part of `npm run bench` (`--only library`). Measures, never fails:
 *
 * - bundle size: gzip bytes (zlib level 9) of the packed library's ESM without a backend and
 *   with each one (its chunks, and for wasm the SIMD binary a browser fetches), from the build's
 *   chunk graph (dist-lib/.vite/manifest.json); the figure is "predict on wasm";
 * - load to first prediction, cold (a fresh browser profile) and warm (the same profile again):
 *   the example host page installed from the tarball (no service worker: warm means the HTTP
 *   cache and the library's Cache API), and the app under `vite preview` (warm: its service
 *   worker), each time from navigation start to the first top-5 on screen;
 * - equality: the top-5 of the library (from the tarball, on the page and in a worker) and of
 *   the app (bench.html, the app's own pipeline) on the same test positions, on wasm.
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from '@playwright/test';
import { build, preview } from 'vite';
import type { ParityQuery } from '../../bench/page';
import { parseBehaviorLog, replayable, splitSequences } from '../../core/data';
import type { BehaviorSequence } from '../../core/events';
import { createRng } from '../../core/random';
import type { Prediction } from '../../model/pipeline-types';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium';
import { loadRegion } from '../data';
import { installHostPage, packLibrary, removeHostPage, serveHostPage } from '../host-page';
import type { FigureLog } from './figures';

/** Where `npm run build:lib` writes (vite.lib.config.ts). */
const LIB_DIR = 'dist-lib';
const BACKENDS = ['wasm', 'webgpu', 'webgl', 'cpu'] as const;

interface ManifestChunk {
  file: string;
  isEntry?: boolean;
  imports?: string[];
}

/** Gzip bytes of a file of the build. */
function gzipBytes(file: string): number {
  return gzipSync(readFileSync(join(LIB_DIR, file)), { level: 9 }).length;
}

/** Files of a chunk and everything it imports statically. */
function closure(manifest: Record<string, ManifestChunk>, key: string, into = new Set<string>()): Set<string> {
  const chunk = manifest[key];
  if (!chunk || into.has(chunk.file)) return into;
  into.add(chunk.file);
  for (const k of chunk.imports ?? []) closure(manifest, k, into);
  return into;
}

export interface BundleSizes {
  /** The entry and its static imports: what `import { loadModel } from 'behavegpt-web'` costs before a backend starts. */
  core: number;
  /** Per backend: what starting it adds (its chunks not in core; wasm: plus the SIMD binary). */
  backends: Record<(typeof BACKENDS)[number], number>;
  /** The wasm backend's binaries: SIMD (fetched where supported, as in Chromium) and plain. */
  wasmBinaries: { simd: number; plain: number };
}

/** Bundle sizes from the library build's manifest (dist-lib/.vite/manifest.json). */
export function bundleSizes(): BundleSizes {
  const manifest = JSON.parse(readFileSync(join(LIB_DIR, '.vite', 'manifest.json'), 'utf8')) as Record<
    string,
    ManifestChunk
  >;
  const entry = Object.keys(manifest).find((k) => manifest[k].isEntry && k.endsWith('src/lib/index.ts'));
  if (!entry) throw new Error(`${LIB_DIR}/.vite/manifest.json: no entry src/lib/index.ts`);
  const core = closure(manifest, entry);
  const sum = (files: Iterable<string>) => [...files].reduce((s, f) => s + gzipBytes(f), 0);
  const wasmBinaries = { simd: gzipBytes('tfjs-backend-wasm-simd.wasm'), plain: gzipBytes('tfjs-backend-wasm.wasm') };
  const backends = Object.fromEntries(
    BACKENDS.map((b) => {
      const key = Object.keys(manifest).find((k) => k.endsWith(`@tensorflow/tfjs-backend-${b}/dist/index.js`));
      if (!key) throw new Error(`${LIB_DIR}/.vite/manifest.json: no chunk for tfjs-backend-${b}`);
      const added = [...closure(manifest, key)].filter((f) => !core.has(f));
      return [b, sum(added) + (b === 'wasm' ? wasmBinaries.simd : 0)];
    }),
  ) as BundleSizes['backends'];
  return { core: sum(core), backends, wasmBinaries };
}

/** `count` positions of the US test split (seeded), else of the demo sequences; each: the history before it and its time. */
export function parityQueries(dataDir: string, count: number, seed = 16): { queries: ParityQuery[]; source: string } {
  let sequences: BehaviorSequence[];
  let source: string;
  try {
    sequences = replayable(splitSequences(loadRegion('us', dataDir).sequences, 'test'));
    source = 'US test split';
  } catch {
    sequences = replayable(
      parseBehaviorLog(readFileSync('public/examples/demo-sequences.csv', 'utf8'), 'demo-sequences.csv').sequences,
    );
    source = 'demo sequences (no data folder)';
  }
  const positions = sequences.flatMap((s) => s.events.slice(1).map((_, i) => ({ s, t: i + 1 })));
  const rng = createRng(seed);
  // A seeded shuffle, then the first `count`: no position twice.
  for (let i = positions.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [positions[i], positions[j]] = [positions[j], positions[i]];
  }
  const queries = positions.slice(0, count).map(({ s, t }) => {
    const { weekday, slot, location } = s.events[t];
    return { history: s.events.slice(0, t), next: { weekday, slot, location } };
  });
  return { queries, source: `${queries.length} positions of the ${source}` };
}

/**
 * Milliseconds from navigation start to the first top-5 on screen (`selector` with data-status=ready).
 * From about:blank, so that a URL with a fragment (the app's #type) loads a new document.
 */
async function firstPrediction(page: Page, url: string, selector: string): Promise<number> {
  await page.goto('about:blank');
  await page.goto(url);
  // The time is read in the page, on the animation frame that first sees the list (no round trip counted).
  const seen = await page.waitForFunction(
    (s) => document.querySelector(s) !== null && performance.now(),
    `${selector}[data-status=ready]`,
    {
      polling: 'raf',
      timeout: 120_000,
    },
  );
  return (await seen.jsonValue()) as number;
}

/** Cold loads (a fresh profile each) and warm ones (the same profile, loaded again) to the first prediction. */
async function loadTimes(
  browser: Browser,
  url: string,
  selector: string,
  loads: number,
  serviceWorker: boolean,
): Promise<{ cold: number[]; warm: number[] }> {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < loads; i++) {
    const context = await browser.newContext({ serviceWorkers: serviceWorker ? 'allow' : 'block' });
    const page = await context.newPage();
    cold.push(await firstPrediction(page, url, selector));
    if (serviceWorker) {
      // The worker installs (precaching everything) during the first visit; once active it serves the next navigation.
      await page.evaluate(async () => {
        await navigator.serviceWorker.ready;
      });
    }
    warm.push(await firstPrediction(page, url, selector));
    if (serviceWorker && !(await page.evaluate(() => navigator.serviceWorker.controller !== null))) {
      throw new Error('the warm load was not served by the service worker');
    }
    await context.close();
  }
  return { cold, warm };
}

function compare(library: Prediction[][], app: Prediction[][]): { identical: number; maxDifference: number } {
  let identical = 0;
  let maxDifference = 0;
  for (const [i, rows] of library.entries()) {
    if (rows.map((r) => r.behavior).join('|') === app[i].map((r) => r.behavior).join('|')) identical++;
    for (const [j, r] of rows.entries())
      if (app[i][j]?.behavior === r.behavior)
        maxDifference = Math.max(maxDifference, Math.abs(r.probability - app[i][j].probability));
  }
  return { identical, maxDifference };
}

export interface LibraryBenchOptions {
  /** First of three ports: the app's preview server, the host page's server (+1). */
  port: number;
  /** Cold and warm loads measured per page. */
  loads: number;
  dataDir: string;
  positions: number;
}

export async function libraryBench(o: LibraryBenchOptions, figures: FigureLog, loadNote: () => string): Promise<void> {
  const packDir = join(tmpdir(), `behavegpt-bench-pack-${process.pid}`);
  const tarball = packLibrary(packDir);
  const sizes = bundleSizes();
  const file = 'file (gzip -9)';
  figures.record('library ESM gzip, no backend', 'n/a', 'bytes', [sizes.core], file);
  for (const b of BACKENDS) {
    const target = b === 'wasm' ? { text: 'reported', ok: () => true } : undefined;
    figures.record(`library ESM gzip, predict on ${b}`, b, 'bytes', [sizes.core + sizes.backends[b]], file, target);
  }
  console.log(
    `wasm binaries gzip: SIMD ${sizes.wasmBinaries.simd} B (counted above), plain ${sizes.wasmBinaries.plain} B (browsers without SIMD)`,
  );

  await build({ logLevel: 'warn' });
  const app = await preview({ preview: { port: o.port, strictPort: true, host: '127.0.0.1' }, logLevel: 'warn' });
  const project = installHostPage(tarball);
  const host = await serveHostPage(project, o.port + 1);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'],
  });
  try {
    const device = () => `Chromium ${browser.version()}, localhost, ${loadNote()}`;
    const hostTimes = await loadTimes(browser, host.url, '#predictions', o.loads, false);
    figures.record('host page load to first prediction, cold', 'auto', 'ms', hostTimes.cold, device(), {
      text: '< 1.5 s',
      ok: (m) => m < 1500,
    });
    figures.record('host page load to first prediction, warm (HTTP cache)', 'auto', 'ms', hostTimes.warm, device());
    const appUrl = `http://127.0.0.1:${o.port}/#type`;
    const appTimes = await loadTimes(browser, appUrl, '[data-testid=predictions]', o.loads, true);
    figures.record('app load to first prediction, cold', 'auto', 'ms', appTimes.cold, device(), {
      text: '< 1.5 s',
      ok: (m) => m < 1500,
    });
    figures.record('app load to first prediction, warm (service worker)', 'auto', 'ms', appTimes.warm, device(), {
      text: '< 500 ms',
      ok: (m) => m < 500,
    });

    const { queries, source } = parityQueries(o.dataDir, o.positions);
    const context = await browser.newContext({ serviceWorkers: 'block' });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${o.port}/bench.html`);
    await page.waitForSelector('body[data-ready="true"]');
    const fromApp = await page.evaluate(([q]) => window.behavegptBench.predictMany('wasm', q, 5), [queries] as const);
    await page.goto(host.url);
    await page.waitForSelector('#predictions[data-status=ready]');
    const modelUrl = new URL('node_modules/behavegpt-web/dist-lib/models/behavegpt-us/model.json', host.url).href;
    const fromLibrary = await page.evaluate(
      async ([q, url]) => {
        // The page's import map resolves the package name, as for the page's own script. No named
        // functions in here: tsx would wrap them in a helper (__name) the page does not have.
        const lib = (await import('behavegpt-web' as string)) as typeof import('../../lib/index');
        const out = { page: [] as Prediction[][], worker: [] as Prediction[][] };
        for (const where of ['page', 'worker'] as const) {
          const model = await (where === 'page' ? lib.loadModel : lib.createWorkerModel)(url, { backend: 'wasm' });
          for (const { history, next } of q) out[where].push(await model.predictNext(history, next, { k: 5 }));
          model.dispose();
        }
        return out;
      },
      [queries, modelUrl] as const,
    );
    await context.close();
    for (const [where, predictions] of [
      ['on the page', fromLibrary.page],
      ['in a worker', fromLibrary.worker],
    ] as const) {
      const { identical, maxDifference } = compare(predictions, fromApp);
      const name = `library ${where} vs app: top-5 identical`;
      figures.record(name, 'wasm', 'positions', [identical], `Chromium, ${source}`, {
        text: `= ${queries.length}`,
        ok: (m) => m === queries.length,
      });
      figures.record(
        `library ${where} vs app: largest probability difference`,
        'wasm',
        'abs',
        [maxDifference],
        `Chromium, ${source}`,
      );
    }
  } finally {
    await browser.close();
    host.close();
    removeHostPage(project);
    rmSync(packDir, { recursive: true, force: true });
    await new Promise<void>((resolve) => app.httpServer.close(() => resolve()));
  }
}
