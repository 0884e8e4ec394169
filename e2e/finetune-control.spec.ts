/**
 * The fine-tune run's control: Cancel is prompt and total (10 runs cancelled at random steps,
 * timed in the page), a worker that throws or dies fails the run at once with a message, Start
 * cannot be pressed twice, and a model that cannot be stored is offered as a download. Faults
 * are injected into the built worker script with page.route. Run in one project: the control
 * does not depend on the page's backend (the worker picks its own). The cancel timings go to
 * $RELIABILITY_OUT/cancel-runs.json (test-results/ by default; read by npm run reliability).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { createRng } from '../src/core/random';
import { waitForModel } from './app-helpers';
import { expect, test } from './fixtures';

/** Where measured figures go (npm run reliability sets it and reads them). */
const FIGURES_DIR = process.env.RELIABILITY_OUT ?? 'test-results';

const KNOWN = [
  'Light:switch on',
  'Television:switch on',
  'Television:switch off',
  'Light:switch off',
  'Robot:clean start',
];

function csv(sequences: number): string {
  const rows = ['sequence_id,step,weekday,time_slot,behavior'];
  for (let s = 0; s < sequences; s++)
    for (let t = 0; t < 8; t++) rows.push(`home-${s},${t},${s % 7},${(t + 4) % 8},${KNOWN[(s + t) % KNOWN.length]}`);
  return `${rows.join('\n')}\n`;
}

test.beforeEach(({}, testInfo) => {
  test.skip(
    testInfo.project.name !== 'webgpu-unavailable',
    'run control does not depend on the page backend: checked once',
  );
});

async function openWithData(page: Page, path: string, sequences: number, epochs: number): Promise<void> {
  writeFileSync(path, csv(sequences));
  await page.goto('/#finetune');
  await waitForModel(page);
  await page.getByTestId('finetune-file').setInputFiles(path);
  await expect(page.getByTestId('finetune-sequences')).toHaveText(String(sequences));
  await page.getByTestId('finetune-epochs').fill(String(epochs));
}

/** Adapted models stored in IndexedDB (0 when the database does not exist). */
function storedModels(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const open = indexedDB.open('behavegpt-adapted-models');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('models')) return resolve(0);
          const count = db.transaction('models', 'readonly').objectStore('models').count();
          count.onsuccess = () => resolve(count.result);
          count.onerror = () => reject(count.error);
        };
      }),
  );
}

/** Serves the built fine-tune worker with `code` run before it (a fault to inject). */
async function injectIntoWorker(page: Page, code: string): Promise<void> {
  await page.route(/\/assets\/finetune\.worker-[\w-]+\.js$/, async (route) => {
    const response = await route.fetch();
    route.fulfill({ response, body: `${code}\n${await response.text()}` });
  });
}

/** Wraps the worker's postMessage: `onProgress(step)` runs after each training step is posted. */
const AT_STEP = (step: number, action: string) => `
const __post = self.postMessage.bind(self);
self.postMessage = (message, transfer) => {
  __post(message, transfer);
  if (message && message.type === 'progress' && message.progress.step === ${step}) { ${action} }
};`;

test('Cancel at a random step, 10 runs: never a saved model, always idle within 500 ms', async ({ page }, testInfo) => {
  test.setTimeout(600_000);
  await openWithData(page, testInfo.outputPath('long.csv'), 240, 50);
  const rng = createRng(14);
  const runs: { targetStep: number; cancelledAtStep: number; stepsAfterCancel: number; ms: number }[] = [];
  for (let i = 0; i < 10; i++) {
    const targetStep = 1 + Math.floor(rng() * 40);
    const start = page.getByTestId('finetune-start');
    // A double-click on Start starts one run and never lands on Cancel.
    if (i === 0) await start.dblclick();
    else await start.click();
    await expect(start).toBeDisabled();
    const progress = page.getByTestId('finetune-progress');
    await expect
      .poll(async () => Number((await progress.getAttribute('value')) ?? 0), { timeout: 120_000, intervals: [20] })
      .toBeGreaterThanOrEqual(targetStep);
    // Clicked and timed in the page: from the click to the run being idle (status "cancelled").
    const measured = await page.evaluate(
      () =>
        new Promise<{ ms: number; stepAtClick: number; stepAtEnd: number }>((resolve) => {
          const status = document.querySelector('[data-testid=finetune-status]')!;
          const step = () =>
            Number((document.querySelector('[data-testid=finetune-progress]') as HTMLProgressElement).value);
          const stepAtClick = step();
          const observer = new MutationObserver(() => {
            if (status.getAttribute('data-status') !== 'cancelled') return;
            observer.disconnect();
            resolve({ ms: performance.now() - t0, stepAtClick, stepAtEnd: step() });
          });
          observer.observe(status, { attributes: true });
          const t0 = performance.now();
          (document.querySelector('[data-testid=finetune-cancel]') as HTMLButtonElement).click();
        }),
    );
    runs.push({
      targetStep,
      cancelledAtStep: measured.stepAtClick,
      stepsAfterCancel: measured.stepAtEnd - measured.stepAtClick,
      ms: Math.round(measured.ms),
    });
    await expect(page.getByTestId('finetune-status')).toContainText('no model was changed');
    await expect(page.getByTestId('finetune-start')).toBeEnabled();
    await expect(page.getByTestId('adapted-model')).toHaveCount(0);
  }
  testInfo.annotations.push({ type: 'cancel runs', description: JSON.stringify(runs) });
  mkdirSync(FIGURES_DIR, { recursive: true });
  writeFileSync(`${FIGURES_DIR}/cancel-runs.json`, JSON.stringify(runs, null, 1));
  for (const r of runs) {
    expect(r.ms, JSON.stringify(r)).toBeLessThan(500);
    expect(r.stepsAfterCancel, JSON.stringify(r)).toBeLessThanOrEqual(1);
  }
  expect(await storedModels(page)).toBe(0);
  await page.reload();
  await waitForModel(page);
  await expect(page.getByTestId('adapted-none')).toBeVisible();
});

for (const [what, action, message] of [
  [
    'throws an uncaught error',
    "setTimeout(() => { throw new Error('injected crash'); });",
    /the training worker failed: .*injected crash/,
  ],
  [
    'rejects a promise nobody awaits',
    "Promise.reject(new Error('injected rejection'));",
    /the training worker failed: .*injected rejection/,
  ],
  ['is killed', 'self.close();', /the training worker stopped unexpectedly/],
] as const) {
  test(`a worker that ${what} mid-run leaves "Training" at once with a message, and saves nothing`, async ({
    page,
  }, testInfo) => {
    await injectIntoWorker(page, AT_STEP(3, action));
    await openWithData(page, testInfo.outputPath('long.csv'), 240, 50);
    await page.getByTestId('finetune-start').click();
    const status = page.getByTestId('finetune-status');
    await expect(status).toHaveAttribute('data-status', 'error', { timeout: 120_000 });
    await expect(page.getByTestId('finetune-error')).toHaveText(message);
    // It failed at step 3, not later: the page heard at once.
    expect(Number(await page.getByTestId('finetune-progress').getAttribute('value'))).toBeLessThanOrEqual(4);
    await expect(page.getByTestId('finetune-start')).toBeEnabled();
    await expect(page.getByTestId('adapted-model')).toHaveCount(0);
    expect(await storedModels(page)).toBe(0);

    // A new run gets a new worker (this time without the fault) and can be cancelled as usual.
    await page.unrouteAll();
    await page.getByTestId('finetune-start').click();
    await expect(page.getByTestId('finetune-step')).toContainText(/Step [1-9]/, { timeout: 120_000 });
    await page.getByTestId('finetune-cancel').click();
    await expect(status).toHaveAttribute('data-status', 'cancelled');
  });
}

test('a trained model that cannot be stored (storage full) is offered as a download', async ({ page }, testInfo) => {
  await page.addInitScript(() => {
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if (value && typeof value === 'object' && 'manifestText' in value)
        throw new DOMException('the quota has been exceeded', 'QuotaExceededError');
      return put.call(this, value, key);
    };
  });
  await openWithData(page, testInfo.outputPath('home.csv'), 12, 1);
  await page.getByTestId('finetune-start').click();
  await expect(page.getByTestId('finetune-status')).toHaveAttribute('data-status', 'error', { timeout: 120_000 });
  await expect(page.getByTestId('finetune-error')).toContainText(
    'could not be saved on this device (the quota has been exceeded); download it to keep it',
  );
  const downloads: string[] = [];
  page.on('download', async (d) => downloads.push(d.suggestedFilename()));
  const first = page.waitForEvent('download');
  await page.getByTestId('finetune-download-unsaved').click();
  const manifest = JSON.parse(readFileSync((await (await first).path())!, 'utf8'));
  expect(manifest.format).toBe('behavegpt-weights');
  expect(manifest.training.finetune.data).toBe('home.csv');
  // Named for the model (docs/FINETUNE.md, "Models as files"), the manifest naming its own shard.
  await expect.poll(() => downloads).toHaveLength(2);
  expect(downloads[0]).toMatch(/^behavegpt-home-\d{8}-\d{6}-\w{6}\.json$/);
  expect(downloads[1]).toBe(downloads[0].replace(/\.json$/, '-shard1of1.bin'));
  expect(manifest.weightsManifest[0].paths).toEqual([downloads[1]]);
});
