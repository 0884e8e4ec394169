import { expect, test } from './fixtures';
import {
  addEvent,
  backendName,
  composeKey,
  expectRanked,
  readyPredictions,
  setNext,
  waitForModel,
  type TypedEvent,
} from './app-helpers';

const SEQUENCE: TypedEvent[] = [
  { behavior: 'Light:switch on', weekday: 4, slot: 6 },
  { behavior: 'Television:switch on', weekday: 4, slot: 6 },
  { behavior: 'Television:setChannel', weekday: 4, slot: 7 },
];
const NEXT = { weekday: 4, slot: 7 };

test('loads the shipped model with progress, and shows the backend, its reason and the model summary', async ({
  page,
}, testInfo) => {
  // Record every stage the progress bar shows (loading can be quicker than a poll).
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __stages: string[] }).__stages = seen;
    new MutationObserver(() => {
      const bar = document.querySelector('[data-testid=load-progress]');
      const stage = bar?.getAttribute('data-stage');
      if (stage && seen[seen.length - 1] !== stage) seen.push(stage);
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
  await page.goto('/');
  await waitForModel(page);

  const stages = await page.evaluate(() => (window as unknown as { __stages: string[] }).__stages);
  expect(stages).toContain('download');
  expect(stages).toContain('backend');
  await expect(page.getByTestId('load-progress')).toHaveCount(0);

  const name = await backendName(page);
  const reason = (await page.getByTestId('backend-reason').innerText()).trim();
  expect(['webgpu', 'wasm', 'webgl', 'cpu']).toContain(name);
  expect(reason.length).toBeGreaterThan(10);
  if (testInfo.project.name === 'webgpu-available') {
    // Chromium's only adapter here is SwiftShader: a software fallback, which auto skips.
    expect(reason).toMatch(/software|fallback/i);
    expect(name).toBe('wasm');
  } else {
    expect(reason).toMatch(/WebGPU unavailable/i);
    expect(name).not.toBe('webgpu');
  }

  const manifest = await (await page.request.get('/models/behavegpt-us/model.json')).json();
  const parameters = Number((await page.getByTestId('model-parameters').innerText()).replace(/,/g, ''));
  expect(parameters).toBeGreaterThan(10_000);
  await expect(page.getByTestId('model-weights')).toContainText('int8');
  const valid = manifest.training.valid['weighted_recall@5'] as number;
  await expect(page.getByTestId('recall-valid')).toContainText(`R@5 ${(valid * 100).toFixed(1)}%`);
  const testR1 = manifest.training.test['weighted_recall@1'] as number;
  await expect(page.getByTestId('recall-test')).toContainText(`R@1 ${(testR1 * 100).toFixed(1)}%`);
});

test('keeps the model files in the Cache API and reloads them from there', async ({ page }) => {
  await page.goto('/');
  await waitForModel(page);
  await expect(page.getByTestId('model-cache')).toHaveAttribute('data-from-cache', 'false');

  const cached = await page.evaluate(async () => {
    const names = await caches.keys();
    const urls: string[] = [];
    for (const name of names) for (const req of await (await caches.open(name)).keys()) urls.push(req.url);
    return { names, urls };
  });
  expect(cached.names.length).toBeGreaterThan(0);
  expect(cached.urls.some((u) => new URL(u).pathname === '/models/behavegpt-us/model.json')).toBe(true);
  expect(cached.urls.some((u) => /\/models\/behavegpt-us\/[^/]+\.bin(\?|$)/.test(u))).toBe(true);

  await page.reload();
  await waitForModel(page);
  await expect(page.getByTestId('model-cache')).toHaveAttribute('data-from-cache', 'true');
  await expect(page.getByTestId('model-cache')).toContainText('Cache API');
});

test('a forced WebGPU backend predicts the same top-1 as wasm', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== 'webgpu-available', 'needs a WebGPU adapter');
  const top: Record<string, { behavior: string; probability: number }> = {};
  for (const backend of ['webgpu', 'wasm']) {
    await page.goto(`/?backend=${backend}#type`);
    await waitForModel(page);
    expect(await backendName(page)).toBe(backend);
    await expect(page.getByTestId('backend-reason')).toContainText(/request|forc/i);
    for (const e of SEQUENCE) await addEvent(page, e);
    await setNext(page, NEXT.weekday, NEXT.slot);
    const rows = await readyPredictions(page, composeKey(SEQUENCE, NEXT.weekday, NEXT.slot));
    expectRanked(rows);
    top[backend] = rows[0];
  }
  expect(top.webgpu.behavior).toBe(top.wasm.behavior);
  expect(Math.abs(top.webgpu.probability - top.wasm.probability)).toBeLessThan(1e-3);
});

test('a forced backend that cannot start is reported with the model URL and the reason', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== 'webgpu-unavailable', 'needs a browser without WebGPU');
  await page.goto('/?backend=webgpu');
  const status = page.getByTestId('model-status');
  await expect(status).toHaveAttribute('data-status', 'error', { timeout: 60_000 });
  await expect(page.getByTestId('model-url')).toHaveText('/models/behavegpt-us/model.json');
  await expect(page.getByTestId('model-error')).toContainText(/webgpu/i);
  await expect(page.getByTestId('backend-name')).toHaveCount(0);
});

test('an unknown ?backend= value is reported and auto is used', async ({ page }) => {
  await page.goto('/?backend=tpu');
  await expect(page.getByRole('alert').filter({ hasText: 'Ignoring ?backend=tpu' })).toBeVisible();
  await waitForModel(page);
  expect(['wasm', 'webgl', 'cpu']).toContain(await backendName(page));
});

test('the URL hash selects the view, also when it changes on the page', async ({ page }) => {
  await page.goto('/#finetune');
  await expect(page.getByTestId('tab-finetune')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('finetune-file')).toBeAttached();
  // A hash typed into the address bar (or a link) switches the view without reloading the page.
  await page.evaluate(() => (location.hash = '#generate'));
  await expect(page.getByTestId('tab-generate')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('tab-finetune')).toHaveAttribute('aria-selected', 'false');
  await page.evaluate(() => (location.hash = '#type'));
  await expect(page.getByTestId('section-predict')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('tab-type')).toHaveAttribute('aria-selected', 'true');
  // Clicking a section writes its hash, so the view can be linked to.
  await page.getByTestId('tab-scaling').click();
  await expect(page).toHaveURL(/#scaling$/);
});

test('the heavy views load when their tab is first opened, each with its styles', async ({ page }) => {
  const chunks: string[] = [];
  page.on('request', (r) => {
    const m = /\/assets\/([A-Za-z]+View)-[\w-]+\.(js|css)$/.exec(new URL(r.url()).pathname);
    if (m) chunks.push(`${m[1]}.${m[2]}`);
  });
  const lazy = ['EvaluationView', 'FinetuneView', 'GenerateView', 'ScalingView'];
  const loaded = (view: string) => chunks.filter((c) => c.startsWith(`${view}.`));

  await page.goto('/');
  await waitForModel(page);
  await readyPredictions(page);
  // Predict is in the main bundle; no other view has been fetched.
  for (const view of lazy) expect(loaded(view), view).toEqual([]);

  await page.getByTestId('tab-finetune').click();
  const dropzone = page.getByTestId('finetune-dropzone');
  await expect(dropzone).toBeVisible();
  expect(loaded('FinetuneView')).toEqual(expect.arrayContaining(['FinetuneView.js', 'FinetuneView.css']));
  // The view's own sheet came with it (finetune.css: a dashed drop zone).
  await expect(dropzone).toHaveCSS('border-top-style', 'dashed');
  expect(loaded('GenerateView')).toEqual([]);

  await page.getByTestId('tab-generate').click();
  await expect(page.getByTestId('generate-start')).toBeVisible();
  expect(loaded('GenerateView')).toEqual(expect.arrayContaining(['GenerateView.js', 'GenerateView.css']));
  await expect(page.getByTestId('generate-stop')).toHaveCSS('background-color', 'rgb(255, 255, 255)');

  await page.getByTestId('tab-evaluation').click();
  await expect(page.getByTestId('eval-table').or(page.getByTestId('eval-empty'))).toBeVisible();
  expect(loaded('EvaluationView')).toContain('EvaluationView.js');
  expect(loaded('ScalingView')).toEqual([]);
});
