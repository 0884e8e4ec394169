/**
 * Fault injection on the model files with page.route: truncated, extended and bit-flipped
 * shards, a corrupted manifest and a cross-origin shard path. Each fault leaves the previous
 * model working (or, on a first visit, says what is wrong); the good files then load without
 * clearing site data; and a reload with the network gone uses the copy kept in the browser.
 * The loading path does not depend on the backend, so these run in one project.
 */
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expectRanked, expectSamePredictions, readyPredictions, waitForModel, type Row } from './app-helpers';
import { expect, test } from './fixtures';

const DIR = 'public/models/behavegpt-us';
const GOOD_MANIFEST = readFileSync(`${DIR}/model.json`, 'utf8');
const GOOD_SHARD = readFileSync(`${DIR}/weights-shard1of1.bin`);
const MODEL = '**/models/behavegpt-us/model.json';
const SHARD = '**/models/behavegpt-us/weights-shard1of1.bin';

const BAD_SHARDS: Record<string, () => Buffer> = {
  truncated: () => GOOD_SHARD.subarray(0, 20_000),
  extended: () => Buffer.concat([GOOD_SHARD, Buffer.from([0])]),
  'bit-flipped': () => {
    const b = Buffer.from(GOOD_SHARD);
    for (let i = 0; i < b.length; i += 20) b[i] ^= 0x55; // 5 % of the bytes
    return b;
  },
};

function manifestWith(edit: (m: any) => void): string {
  const m = JSON.parse(GOOD_MANIFEST);
  edit(m);
  return JSON.stringify(m);
}

test.beforeEach(({}, testInfo) => {
  test.skip(
    testInfo.project.name !== 'webgpu-unavailable',
    'model loading does not depend on the backend: checked once',
  );
});

/** Every entry of every Cache API cache of the page's origin. */
function cachedEntries(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const urls: string[] = [];
    for (const name of await caches.keys()) for (const r of await (await caches.open(name)).keys()) urls.push(r.url);
    return urls;
  });
}

/** The model is ready and Replay shows a ranked top-5. */
async function expectWorking(page: Page): Promise<Row[]> {
  await waitForModel(page);
  const rows = await readyPredictions(page);
  expectRanked(rows);
  return rows;
}

/** A reload with the model files' network gone: the copy kept in the Cache API is used, and the page says so. */
async function expectOfflineReload(page: Page, rows: Row[]): Promise<void> {
  await page.route('**/models/**', (route) => route.abort('internetdisconnected'));
  await page.reload();
  expectSamePredictions(await expectWorking(page), rows);
  await expect(page.getByTestId('model-notice')).toContainText('the copy kept in this browser is used');
  await expect(page.getByTestId('model-notice')).toContainText('offline?');
  await page.unroute('**/models/**');
}

test('a bad shard on a first visit is refused with the shard named, then the good file loads without clearing site data', async ({
  page,
}) => {
  let rows: Row[] = [];
  await page.goto('/');
  for (const [kind, bytes] of Object.entries(BAD_SHARDS)) {
    // A first visit: nothing kept yet.
    await page.evaluate(async () => Promise.all((await caches.keys()).map((k) => caches.delete(k))));
    await page.route(SHARD, (route) => route.fulfill({ body: bytes(), contentType: 'application/octet-stream' }));
    await page.reload();
    await expect(page.getByTestId('model-status')).toHaveAttribute('data-status', 'error', { timeout: 60_000 });
    await expect(page.getByTestId('model-error'), kind).toContainText(
      /^weights-shard1of1\.bin: (\d+ bytes, the manifest says 36666|the server sends 36667 bytes, the manifest says 36666|SHA-256 [0-9a-f]{12}… does not match)/,
    );
    expect(await cachedEntries(page), kind).toEqual([]);

    await page.unroute(SHARD);
    await page.reload();
    rows = await expectWorking(page);
    await expect(page.getByTestId('model-cache')).toHaveAttribute('data-from-cache', 'false');
    await expect(page.getByTestId('model-notice')).toHaveCount(0);
  }
  await expectOfflineReload(page, rows);
});

test('a new model version with a bad shard leaves the cached model in use and says why; the good files then load', async ({
  page,
}) => {
  await page.goto('/');
  const rows = await expectWorking(page);
  const name = await page.getByTestId('model-name').innerText();
  for (const [kind, bytes] of Object.entries(BAD_SHARDS)) {
    const v2 = manifestWith((m) => {
      m.name = 'behavegpt-us v2';
      m.weightsManifest[0].paths = ['weights-v2.bin'];
    });
    await page.route(MODEL, (route) => route.fulfill({ body: v2, contentType: 'application/json' }));
    await page.route('**/models/behavegpt-us/weights-v2.bin', (route) =>
      route.fulfill({ body: bytes(), contentType: 'application/octet-stream' }),
    );
    await page.reload();
    expectSamePredictions(await expectWorking(page), rows, kind);
    await expect(page.getByTestId('model-name')).toHaveText(name);
    await expect(page.getByTestId('model-notice'), kind).toContainText('weights-v2.bin');
    await expect(page.getByTestId('model-notice')).toContainText('the copy kept in this browser is used');

    await page.unrouteAll();
    await page.reload();
    expectSamePredictions(await expectWorking(page), rows);
    await expect(page.getByTestId('model-notice')).toHaveCount(0);
    await expect(page.getByTestId('model-cache')).toHaveAttribute('data-from-cache', 'true');
  }
  await expectOfflineReload(page, rows);
});

test('a corrupted model.json never replaces the kept model, and on a first visit names the field', async ({ page }) => {
  const corrupt = manifestWith(
    (m) => (m.weightsManifest[0].weights.find((w: { name: string }) => w.name === 'embed.behavior').shape = [24, 126]),
  );
  await page.route(MODEL, (route) => route.fulfill({ body: corrupt, contentType: 'application/json' }));
  await page.goto('/');
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-status', 'error', { timeout: 60_000 });
  await expect(page.getByTestId('model-error')).toContainText(
    'field "weight "embed.behavior"": shape [24,126], the config needs [126,24]',
  );

  await page.unrouteAll();
  await page.reload();
  const rows = await expectWorking(page);

  await page.route(MODEL, (route) => route.fulfill({ body: corrupt, contentType: 'application/json' }));
  await page.reload();
  expectSamePredictions(await expectWorking(page), rows);
  await expect(page.getByTestId('model-notice')).toContainText('shape [24,126]');
  await page.unrouteAll();
  await page.reload();
  expectSamePredictions(await expectWorking(page), rows);
  await expect(page.getByTestId('model-notice')).toHaveCount(0);
  await expectOfflineReload(page, rows);
});

test('a manifest pointing a shard at another origin is refused before anything is fetched from there', async ({
  page,
}) => {
  await page.goto('/');
  const rows = await expectWorking(page);
  const origin = new URL(page.url()).origin;
  const elsewhere: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).origin !== origin && !r.url().startsWith('data:')) elsewhere.push(r.url());
  });
  await page.route(MODEL, (route) =>
    route.fulfill({
      body: manifestWith((m) => (m.weightsManifest[0].paths = ['https://evil.example/w.bin'])),
      contentType: 'application/json',
    }),
  );
  await page.reload();
  expectSamePredictions(await expectWorking(page), rows);
  await expect(page.getByTestId('model-notice')).toContainText(
    '"https://evil.example/w.bin" is not a path relative to the manifest',
  );
  expect(elsewhere).toEqual([]);
  await page.unrouteAll();
  await page.reload();
  expectSamePredictions(await expectWorking(page), rows);
  await expect(page.getByTestId('model-notice')).toHaveCount(0);
  await expectOfflineReload(page, rows);
});

test('a damaged adapted model picked in Predict leaves the model in use working, and says why', async ({ page }) => {
  await page.goto('/');
  const rows = await expectWorking(page);
  // An adapted model whose stored shard lost its last bytes (e.g. a storage fault).
  await page.evaluate(
    async ({ manifestText, shard }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open('behavegpt-adapted-models', 1);
        req.onupgradeneeded = () => req.result.createObjectStore('models', { keyPath: 'id' });
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      const metrics = { targets: 1, 'weighted_recall@1': 0, 'weighted_recall@5': 0 };
      const record = {
        id: 'adapted-damaged',
        name: 'damaged copy',
        createdAt: Date.now(),
        dataName: 'x',
        manifestText,
        shards: [new Uint8Array(shard).buffer],
        metrics: { before: metrics, after: metrics },
      };
      await new Promise<void>((resolve, reject) => {
        const tx = db.transaction('models', 'readwrite');
        tx.objectStore('models').put(record);
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      });
    },
    { manifestText: GOOD_MANIFEST, shard: [...GOOD_SHARD.subarray(0, 30_000)] },
  );
  await page.reload();
  await expectWorking(page);
  await page.getByTestId('model-select').selectOption('adapted-damaged');
  await expect(page.getByTestId('model-load-error')).toContainText('idb:adapted-damaged');
  await expect(page.getByTestId('model-load-error')).toContainText(
    'weights-shard1of1.bin: 30000 bytes, the manifest says 36666',
  );
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-status', 'ready');
  await expect(page.getByTestId('model-select')).toHaveValue('base');
  expectSamePredictions(await readyPredictions(page), rows);
});
