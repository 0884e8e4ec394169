/**
 * The library as a host page gets it: the npm tarball (built by `npm pack`) installed into a
 * temporary copy of examples/host-page, with no access to this repository, served by the
 * example's own server under a strict Content-Security-Policy, and driven in Chromium (this
 * file runs in both projects: WebGPU available and not). Its predictions must equal the app's
 * for the same input; it generates, fine-tunes in the library's worker and loads the result; its
 * worker model scores a log and generates trajectories as the model on the page does; a
 * TypeScript project type-checks against the package's declarations alone.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import {
  addEvent,
  backendName,
  composeKey,
  expectRanked,
  readyPredictions,
  setNext,
  waitForModel,
  type Row,
  type TypedEvent,
} from './app-helpers';
import { installHostPage, packLibrary, removeHostPage, serveHostPage } from '../src/node/host-page';
import type { BehaviorEvent, BehaviorSequence } from '../src/core/events';
import type { TrajectoryEvent } from '../src/model/generate';
import type { BehaviorModel, EngineChoices, LogScore } from '../src/model/pipeline-types';

/** The example's server: next to the app's preview port (E2E_PORT), so checkouts side by side do not collide. */
const HOST_PORT = Number(process.env.E2E_PORT ?? 4173) + 2;
/** Packed once per test run (Playwright empties test-results/ when a run starts), shared by both projects. */
const PACK_DIR = join('test-results', 'library-pack');

const QUERY: TypedEvent[] = [
  { behavior: 'Light:switch on', weekday: 4, slot: 6 },
  { behavior: 'Television:switch on', weekday: 4, slot: 7 },
  { behavior: 'Light:switch off', weekday: 4, slot: 7 },
];
const NEXT = { weekday: 5, slot: 0 };
const NEW = 'Robot:clean start';
/** A short log for scoreLog: QUERY's behaviors in turn, on varying days and slots. */
const LOG: BehaviorSequence[] = Array.from({ length: 4 }, (_, s) => ({
  id: `log-${s}`,
  events: Array.from({ length: 6 + s }, (_, t) => ({
    behavior: QUERY[(s + t) % QUERY.length].behavior,
    weekday: (s + t) % 7,
    slot: (2 * t + s) % 8,
    location: '<unknown>',
  })),
}));
const PREFIX: BehaviorEvent[] = QUERY.map((e) => ({ ...e, location: '<unknown>' }));

let project = '';
let host: { url: string; close: () => void } | null = null;

test.beforeAll(async () => {
  test.setTimeout(600_000);
  const tarball = packLibrary(PACK_DIR);
  project = installHostPage(tarball);
  host = await serveHostPage(project, HOST_PORT);
});

test.afterAll(() => {
  host?.close();
  if (project) removeHostPage(project);
});

/** The app's top-5 for QUERY at NEXT (Predict → Type), on the backend `search` asks for. */
async function appPrediction(page: Page, search = ''): Promise<{ rows: Row[]; backend: string }> {
  await page.goto(`/${search}#type`);
  await waitForModel(page);
  for (const e of QUERY) await addEvent(page, e);
  await setNext(page, NEXT.weekday, NEXT.slot);
  const rows = await readyPredictions(page, composeKey(QUERY, NEXT.weekday, NEXT.slot));
  expectRanked(rows);
  return { rows, backend: await backendName(page) };
}

async function openHostPage(page: Page, search = ''): Promise<void> {
  await page.goto(`${host!.url}${search}`);
  const status = page.locator('#status[data-status=ready], #status[data-status=error]');
  await expect(status).toHaveCount(1, { timeout: 150_000 });
  if ((await status.getAttribute('data-status')) !== 'ready')
    throw new Error(`the host page failed to load the model: ${await status.innerText()}`);
  // The page predicts its default history at once; that prediction is not the one under test.
  await expect(page.locator('#predictions')).toHaveAttribute('data-status', 'ready');
}

async function hostPrediction(page: Page): Promise<Row[]> {
  await page.locator('#history').fill(QUERY.map((e) => `${e.behavior}, ${e.weekday}, ${e.slot}`).join('\n'));
  await page.locator('#weekday').fill(String(NEXT.weekday));
  await page.locator('#slot').fill(String(NEXT.slot));
  const list = page.locator('#predictions');
  await list.evaluate((el) => (el.dataset.status = 'idle'));
  await page.locator('#predict').click();
  await expect(list).toHaveAttribute('data-status', 'ready');
  return list.locator('li').evaluateAll((rows) =>
    rows.map((r) => ({
      behavior: (r as HTMLElement).dataset.behavior ?? '',
      probability: Number((r as HTMLElement).dataset.probability),
    })),
  );
}

function expectSame(library: Row[], app: Row[]): void {
  expect(library.map((r) => r.behavior)).toEqual(app.map((r) => r.behavior));
  for (const [i, r] of library.entries()) expect(r.probability).toBeCloseTo(app[i].probability, 5);
}

test('the packed library installs into a fresh project on its own, and its declarations type-check there', async () => {
  const installed = join(project, 'node_modules', 'behavegpt-web');
  expect(lstatSync(installed).isSymbolicLink()).toBe(false);
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  expect(manifest.dependencies ?? {}).toEqual({});
  expect(existsSync(join(installed, 'src'))).toBe(false);
  expect(existsSync(join(installed, 'dist-lib', 'models', 'behavegpt-us', 'model.json'))).toBe(true);
  // A host's TypeScript code against the package's declarations only (skipLibCheck off: the .d.ts must stand alone).
  writeFileSync(
    join(project, 'check.ts'),
    [
      "import { loadModel, finetune, createWorkerModel, saveAdaptedModel, listAdaptedModels, newModelId, ModelFormatError, type BehaviorModel, type Prediction } from 'behavegpt-web';",
      "const model: BehaviorModel = await loadModel('/model.json', { backend: 'wasm', onProgress: (p) => console.log(p.stage, p.loaded) });",
      "const top: Prediction[] = await model.predictNext([{ behavior: 'Light:switch on', weekday: 0, slot: 1, location: '<unknown>' }], { weekday: 0, slot: 2, location: '<unknown>' }, { k: 3 });",
      'for await (const e of model.generate([], { maxEvents: 3, start: { weekday: 1, slot: 2 } })) console.log(e.behavior, e.elapsedSlots);',
      'const result = await finetune(model, new Blob([]), { maxEpochs: 1, signal: AbortSignal.timeout(1000) });',
      'const adapted = await createWorkerModel(result.files);',
      'await saveAdaptedModel({ id: newModelId(), name: result.name, dataName: result.dataName, createdAt: Date.now(), metrics: { before: result.before, after: result.after }, ...result.files });',
      'console.log((await listAdaptedModels())[0].bytes);',
      "console.log(top[0].probability, adapted.info.parameters, new ModelFormatError('f', null, 'p').file);",
      '// @ts-expect-error: k is an option, not a number',
      "await model.predictNext([], { weekday: 0, slot: 2, location: '' }, 5);",
    ].join('\n'),
  );
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'esnext',
        moduleResolution: 'bundler',
        lib: ['es2022', 'dom', 'dom.iterable'],
        types: [],
        strict: true,
        skipLibCheck: false,
        noEmit: true,
      },
      files: ['check.ts'],
    }),
  );
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'pipe' });
});

test('the host page predicts what the app predicts for the same input, on the page and in a worker', async ({
  page,
}) => {
  const app = await appPrediction(page);
  await openHostPage(page);
  // The same choice by capability and measurement as the app's (wasm here: SwiftShader's WebGPU is skipped).
  await expect(page.locator('#status')).toHaveAttribute('data-backend', app.backend);
  expectSame(await hostPrediction(page), app.rows);
  await openHostPage(page, '?worker=1');
  await expect(page.locator('#status')).toHaveAttribute('data-backend', app.backend);
  expectSame(await hostPrediction(page), app.rows);
});

test('on a forced backend, the library and the app agree there too', async ({ page }, testInfo) => {
  const backend = testInfo.project.name === 'webgpu-available' ? 'webgpu' : 'cpu';
  const app = await appPrediction(page, `?backend=${backend}`);
  await openHostPage(page, `?backend=${backend}`);
  expect(app.backend).toBe(backend);
  await expect(page.locator('#status')).toHaveAttribute('data-backend', backend);
  expectSame(await hostPrediction(page), app.rows);
});

test('the host page generates a stream of events, fine-tunes in the library worker and predicts with the adapted model', async ({
  page,
}, testInfo) => {
  await openHostPage(page);
  const behaviors = Number(await page.locator('#status').getAttribute('data-behaviors'));
  await page.locator('#generate').click();
  const generated = page.locator('#generated');
  await expect(generated).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  await expect(generated.locator('li')).toHaveCount(20);

  const csv = testInfo.outputPath('my-home.csv');
  const rows = ['sequence_id,step,weekday,time_slot,behavior'];
  for (let s = 0; s < 12; s++)
    for (let t = 0; t < 8; t++)
      rows.push(`home-${s},${t},${s % 7},${(t + 4) % 8},${t === 3 ? NEW : QUERY[(s + t) % QUERY.length].behavior}`);
  writeFileSync(csv, `${rows.join('\n')}\n`);
  await page.locator('#log').setInputFiles(csv);
  await page.locator('#finetune').click();
  await expect(page.locator('#finetune-status')).toHaveAttribute('data-status', 'done', { timeout: 150_000 });
  // The worker names the model for the data (my-home, from my-home.csv) and the run.
  await expect(page.locator('#finetune-status')).toContainText(/my-home.*held-out recall@5 \d+\.\d% → \d+\.\d%/);
  // The adapted model is the one in use now, and it knows the new behavior.
  await expect(page.locator('#status')).toHaveAttribute('data-status', 'ready');
  await expect(page.locator('#status')).toContainText('my-home');
  await expect(page.locator('#status')).toHaveAttribute('data-behaviors', String(behaviors + 1));
  expectRanked(await hostPrediction(page));
  // Saved in IndexedDB through the library: still listed after a reload.
  await expect(page.locator('#saved li')).toHaveCount(1);
  await expect(page.locator('#saved li')).toContainText('my-home');
  await openHostPage(page);
  await expect(page.locator('#saved li')).toHaveCount(1);
});

/** What the host page's model (window.behavegptModel) answers to scoreLog, generateMany and its engine choices. */
interface ModelRun {
  score: Pick<LogScore, 'targets' | 'all' | 'noRefresh'>;
  /** Fractions done reported by onProgress. */
  progress: number[];
  steps: TrajectoryEvent[][];
  /** `engines` after those calls, and how often subscribeEngines' listener was called meanwhile. */
  engines: EngineChoices;
  notified: number;
  /** Whether `engines` is the same object after a call that changes no choice (a predictNext). */
  stable: boolean;
}

async function modelRun(page: Page): Promise<ModelRun> {
  return page.evaluate(
    async ({ log, prefix }) => {
      const model = (window as unknown as { behavegptModel: BehaviorModel }).behavegptModel;
      let notified = 0;
      const unsubscribe = model.subscribeEngines(() => notified++);
      const progress: number[] = [];
      const { targets, all, noRefresh } = await model.scoreLog(log, {
        batchSize: 2,
        onProgress: (done, total) => progress.push(done / total),
      });
      const steps: TrajectoryEvent[][] = [];
      for await (const step of model.generateMany(prefix, 3, { maxEvents: 5, seed: 1 })) steps.push(step);
      const engines = model.engines;
      await model.predictNext(prefix, { weekday: 5, slot: 0, location: '<unknown>' });
      const stable = model.engines === engines;
      unsubscribe();
      return { score: { targets, all, noRefresh }, progress, steps, engines, notified, stable };
    },
    { log: LOG, prefix: PREFIX },
  );
}

test('in a worker, scoreLog and generateMany answer what the model on the page does, with its engine choices', async ({
  page,
}) => {
  await openHostPage(page);
  const onPage = await modelRun(page);
  await openHostPage(page, '?worker=1');
  const inWorker = await modelRun(page);

  expect(inWorker.score.targets).toBeGreaterThan(0);
  expect(inWorker.score.targets).toBe(onPage.score.targets);
  for (const part of ['all', 'noRefresh'] as const) {
    expect(Object.keys(inWorker.score[part]).sort()).toEqual(Object.keys(onPage.score[part]).sort());
    for (const [metric, value] of Object.entries(onPage.score[part]))
      expect(inWorker.score[part][metric], `${part} ${metric}`).toBeCloseTo(value, 5);
  }
  // Progress crossed from the worker through the callback proxy, up to all positions.
  expect(inWorker.progress.length).toBeGreaterThan(1);
  expect(inWorker.progress.at(-1)).toBe(1);

  // The same trajectories (seed + k for trajectory k), step by step.
  expect(onPage.steps.length).toBeGreaterThan(0);
  const shape = (steps: TrajectoryEvent[][]) =>
    steps.map((step) =>
      step.map(({ trajectory, index, behavior, weekday, slot, elapsedSlots }) => ({
        trajectory,
        index,
        behavior,
        weekday,
        slot,
        elapsedSlots,
      })),
    );
  expect(shape(inWorker.steps)).toEqual(shape(onPage.steps));
  for (const [s, step] of inWorker.steps.entries())
    for (const [i, e] of step.entries()) expect(e.probability).toBeCloseTo(onPage.steps[s][i].probability, 5);

  // Both workloads measured in the worker and copied to the page, with one notice per change.
  for (const run of [onPage, inWorker]) {
    expect(run.engines.score?.workload).toBe('score');
    expect(run.engines.generate?.workload).toBe('generate');
    expect(run.notified).toBe(2);
    expect(run.stable).toBe(true);
  }

  // Aborting a scoring rejects with the signal's reason; the worker stops it and scores again after.
  const aborted = await page.evaluate(async (log) => {
    const model = (window as unknown as { behavegptModel: BehaviorModel }).behavegptModel;
    const controller = new AbortController();
    const reason = new DOMException('scoring stopped by the test', 'AbortError');
    const long = Array.from({ length: 40 }, (_, i) => ({ ...log[i % log.length], id: `long-${i}` }));
    let progressAfter = 0;
    try {
      await model.scoreLog(long, {
        batchSize: 1,
        signal: controller.signal,
        onProgress: () => (controller.signal.aborted ? progressAfter++ : controller.abort(reason)),
      });
      return { rejected: false, same: false, name: '', progressAfter };
    } catch (e) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const again = await model.scoreLog(log);
      return { rejected: true, same: e === reason, name: (e as Error).name, progressAfter, targets: again.targets };
    }
  }, LOG);
  expect(aborted).toEqual({
    rejected: true,
    same: true,
    name: 'AbortError',
    progressAfter: 0,
    targets: inWorker.score.targets,
  });
});
