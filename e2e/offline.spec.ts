/**
 * The offline, installable app (vite-plugin-pwa). With the service worker allowed (the other
 * specs block it, so that their page.route fault injection sees every request):
 *
 * - Load once, go offline, reload: the app starts from the precache, Predict, Generate and
 *   Fine-tune work, the adapted models kept in IndexedDB are listed and usable, and Replay says
 *   the SmartThings data needs the network and shows the demo sequences; back online, Replay
 *   loads the SmartThings data by itself when the data folder is there.
 * - A new deployment: the page keeps running the version it started with (its shell and its
 *   lazily loaded chunks come from the old precache, though the server no longer has them),
 *   offers to reload, and after the reload runs the new version only.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, createReadStream, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import type { Page } from '@playwright/test';
import { CSP_HEADER } from '../src/csp';
import { expect, test } from './fixtures';
import {
  addEvent,
  composeKey,
  expectRanked,
  readyPredictions,
  setNext,
  waitForModel,
  type TypedEvent,
} from './app-helpers';

test.use({ serviceWorkers: 'allow' });

const QUERY: TypedEvent[] = [
  { behavior: 'Light:switch on', weekday: 2, slot: 5 },
  { behavior: 'Television:switch on', weekday: 2, slot: 6 },
];

/** A small canonical log with one behavior the model has never seen. */
function smallCsv(): string {
  const known = ['Light:switch on', 'Television:switch on', 'Television:switch off', 'Light:switch off'];
  const rows = ['sequence_id,step,weekday,time_slot,behavior'];
  for (let s = 0; s < 12; s++)
    for (let t = 0; t < 8; t++)
      rows.push(`home-${s},${t},${s % 7},${(t + 4) % 8},${t === 3 ? 'Robot:clean start' : known[(s + t) % 4]}`);
  return `${rows.join('\n')}\n`;
}

/** Waits until the service worker has precached the app and controls this page. */
async function installed(page: Page): Promise<void> {
  await expect(page.getByTestId('offline-ready')).toBeVisible({ timeout: 120_000 });
  if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) {
    await page.reload();
    await waitForModel(page);
  }
  expect(await page.evaluate(() => navigator.serviceWorker.controller?.state)).toBe('activated');
}

async function fineTuneOneEpoch(page: Page, csv: string): Promise<void> {
  await page.getByTestId('tab-finetune').click();
  await page.getByTestId('finetune-file').setInputFiles(csv);
  await expect(page.getByTestId('finetune-sequences')).toHaveText('12');
  await page.getByTestId('finetune-epochs').fill('1');
  await page.getByTestId('finetune-start').click();
  await expect(page.getByTestId('finetune-status')).toHaveAttribute('data-status', 'done', { timeout: 150_000 });
}

async function typedPrediction(page: Page): Promise<void> {
  await page.getByTestId('section-predict').click();
  await page.getByTestId('tab-type').click();
  for (const e of QUERY) await addEvent(page, e);
  await setNext(page, 3, 1);
  expectRanked(await readyPredictions(page, composeKey(QUERY, 3, 1)));
}

test('load once, go offline, reload: the app starts, Predict, Generate and Fine-tune work, adapted models are listed', async ({
  page,
  context,
  request,
}, testInfo) => {
  const csv = testInfo.outputPath('my-home.csv');
  writeFileSync(csv, smallCsv());
  await page.goto('/');
  await waitForModel(page);
  await installed(page);
  // One adapted model made online, to be found offline.
  await fineTuneOneEpoch(page, csv);
  await expect(page.getByTestId('adapted-model')).toHaveCount(1);

  await context.setOffline(true);
  await page.goto('/');
  await waitForModel(page);
  await expect(page.getByTestId('offline-notice')).toBeVisible();

  // Replay: the SmartThings data is online only; the demo sequences stand in, and the page says why.
  const source = page.getByTestId('replay-source');
  await expect(source).toHaveAttribute('data-kind', 'demo', { timeout: 60_000 });
  await expect(source).toContainText('you are offline, and the SmartThings data is only served online');
  expectRanked(await readyPredictions(page));

  await typedPrediction(page);

  await page.getByTestId('tab-generate').click();
  const status = page.getByTestId('generate-status');
  await page.getByTestId('generate-start').click();
  await expect(status).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  expect(Number(await page.getByTestId('generated-count').getAttribute('data-count'))).toBeGreaterThan(0);

  // Fine-tune offline: the model made online is listed, and a second one is trained and kept.
  await page.getByTestId('tab-finetune').click();
  await expect(page.getByTestId('adapted-model')).toHaveCount(1);
  await fineTuneOneEpoch(page, csv);
  await expect(page.getByTestId('adapted-model')).toHaveCount(2);

  // Predict with an adapted model, offline (IndexedDB).
  const id = await page.getByTestId('adapted-model').first().getAttribute('data-id');
  await page.getByTestId('section-predict').click();
  await page.getByTestId('model-select').selectOption(id!);
  await waitForModel(page);
  await expect(page.getByTestId('model-cache')).toContainText('IndexedDB');
  await page.getByTestId('tab-replay').click();
  expectRanked(await readyPredictions(page));

  // Back online: Replay fetches the SmartThings data by itself, when the data folder is served.
  const dataServed = (await request.head('/data/smartthings/us.csv.gz')).ok();
  await context.setOffline(false);
  await expect(page.getByTestId('offline-notice')).toHaveCount(0);
  await expect(source).toHaveAttribute('data-kind', dataServed ? 'smartthings' : 'demo', { timeout: 60_000 });
});

// --- A new deployment ------------------------------------------------------------------------

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.csv': 'text/csv',
};

/** A static host whose content can be switched from one build to the next, like a deployment. */
function deploymentServer(port: number): Promise<{ server: Server; deploy: (dir: string) => void; url: string }> {
  let current = '';
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = normalize(join(current, path === '/' ? 'index.html' : path));
    if (!file.startsWith(current) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`Not found: ${path}`);
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': CSP_HEADER,
      'Cache-Control': 'no-cache',
    });
    createReadStream(file).pipe(res);
  });
  const deploy = (dir: string) => {
    current = resolve(dir);
  };
  return new Promise((done) =>
    server.listen(port, '127.0.0.1', () => done({ server, deploy, url: `http://127.0.0.1:${port}/` })),
  );
}

/** The build the test server runs (dist/, as built for this run), and a second one with another build id: made once per run. */
function twoBuilds(): { v1: string; v2: string } {
  const dir = join('test-results', 'deployments');
  const v1 = join(dir, 'v1');
  const v2 = join(dir, 'v2');
  if (!existsSync(v1)) {
    mkdirSync(dir, { recursive: true });
    cpSync('dist', v1, { recursive: true });
  }
  if (!existsSync(join(v2, 'sw.js'))) {
    execFileSync(
      process.execPath,
      ['node_modules/vite/bin/vite.js', 'build', '--outDir', v2, '--emptyOutDir', '--logLevel', 'warn'],
      {
        env: { ...process.env, BEHAVEGPT_BUILD_ID: 'e2e-v2' },
        stdio: 'pipe',
      },
    );
  }
  return { v1, v2 };
}

test('a new deployment: the running version stays whole until the page offers to reload, then only the new one runs', async ({
  page,
  request,
}, testInfo) => {
  test.skip(
    testInfo.project.name === 'webgpu-available',
    'updating does not depend on WebGPU: run once, in the other project',
  );
  test.setTimeout(420_000);
  const { v1, v2 } = twoBuilds();
  const port = Number(process.env.E2E_PORT ?? 4173) + 3;
  const host = await deploymentServer(port);
  try {
    host.deploy(v1);
    await page.goto(host.url);
    await waitForModel(page);
    await installed(page);
    const firstBuild = await page.getByTestId('app-build').innerText();
    expect(firstBuild).not.toBe('e2e-v2');
    // Files of one build that the other lacks (the entry chunk at least: it carries the build id).
    const files = (dir: string) => new Set(readdirSync(join(dir, 'assets')).map((f) => `/assets/${f}`));
    const [inV1, inV2] = [files(v1), files(v2)];
    const onlyV1 = [...inV1].filter((f) => !inV2.has(f));
    const onlyV2 = [...inV2].filter((f) => !inV1.has(f));
    expect(onlyV1.some((f) => /\/assets\/main-.*\.js$/.test(f))).toBe(true);
    const requested: string[] = [];
    page.on('request', (r) => requested.push(new URL(r.url()).pathname));

    host.deploy(v2);
    for (const f of onlyV1) expect((await request.get(new URL(f, host.url).href)).status()).toBe(404);

    // The page, opened again, is still the first build, whole: shell and lazy tabs from its own precache.
    await page.reload();
    await waitForModel(page);
    await expect(page.getByTestId('app-build')).toHaveText(firstBuild);
    await expect(page.getByTestId('update-ready')).toBeVisible({ timeout: 120_000 });
    await page.getByTestId('tab-evaluation').click();
    await expect(page.getByTestId('eval-table')).toBeVisible({ timeout: 60_000 });
    await page.getByTestId('tab-generate').click();
    await expect(page.getByTestId('generate-start')).toBeVisible({ timeout: 60_000 });
    await page.getByTestId('tab-finetune').click();
    await expect(page.getByTestId('finetune-file')).toBeAttached({ timeout: 60_000 });
    await expect(page.getByTestId('app-build')).toHaveText(firstBuild);
    expect(
      requested.filter((p) => onlyV2.includes(p)),
      'files of the new build requested by the old page',
    ).toEqual([]);
    expect(requested.some((p) => onlyV1.includes(p))).toBe(true);

    // Reload to update: the new build runs, and the old build's own files are gone from the caches.
    await page.getByTestId('update-reload').click();
    await expect(page.getByTestId('app-build')).toHaveText('e2e-v2', { timeout: 60_000 });
    await waitForModel(page);
    await typedPrediction(page);
    const cached = await page.evaluate(async () => {
      const keys = await Promise.all((await caches.keys()).map(async (name) => (await caches.open(name)).keys()));
      return keys.flat().map((r) => new URL(r.url).pathname);
    });
    expect(cached.filter((p) => onlyV1.includes(p))).toEqual([]);
    expect(cached.filter((p) => onlyV2.includes(p) && /\/assets\/main-.*\.js$/.test(p))).toHaveLength(1);
  } finally {
    host.server.close();
  }
});
