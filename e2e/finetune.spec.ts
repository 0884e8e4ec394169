import { readFileSync, writeFileSync } from 'node:fs';
import type { Download, Page } from '@playwright/test';
import { expect, test } from './fixtures';
import {
  addEvent,
  composeKey,
  expectRanked,
  expectSamePredictions,
  readyPredictions,
  setNext,
  waitForModel,
  type Row,
  type TypedEvent,
} from './app-helpers';

/** Behaviors the shipped model knows, plus one it has never seen. */
const KNOWN = ['Light:switch on', 'Television:switch on', 'Television:switch off', 'Light:switch off'];
const NEW = 'Robot:clean start';

/** A small canonical log: `sequences` sequences of 8 events, the new behavior in each (12: 96 events). */
function smallCsv(sequences = 12): string {
  const rows = ['sequence_id,step,weekday,time_slot,behavior'];
  for (let s = 0; s < sequences; s++) {
    for (let t = 0; t < 8; t++) {
      const behavior = t === 3 ? NEW : KNOWN[(s + t) % KNOWN.length];
      rows.push(`home-${s},${t},${s % 7},${(t + 4) % 8},${behavior}`);
    }
  }
  return `${rows.join('\n')}\n`;
}

async function importFile(page: Page, path: string): Promise<void> {
  await page.getByTestId('finetune-file').setInputFiles(path);
}

/** Imports the 12-sequence log and fine-tunes it until the first check without improvement; returns the saved model's id and name. */
async function trainSmall(page: Page, path: string): Promise<{ id: string; name: string }> {
  writeFileSync(path, smallCsv());
  await page.goto('/#finetune');
  await waitForModel(page);
  await importFile(page, path);
  await expect(page.getByTestId('finetune-sequences')).toHaveText('12');
  await page.getByTestId('finetune-lr').selectOption('0.01');
  await page.getByTestId('finetune-patience').fill('1');
  await page.getByTestId('finetune-start').click();
  await expect(page.getByTestId('finetune-status')).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  const saved = page.getByTestId('adapted-model');
  await expect(saved).toHaveCount(1);
  return { id: (await saved.getAttribute('data-id'))!, name: (await saved.getAttribute('data-name'))! };
}

/** The base model's top-5 for a fixed typed query (Predict → Type). */
const QUERY: TypedEvent[] = [
  { behavior: 'Light:switch on', weekday: 4, slot: 6 },
  { behavior: 'Television:switch on', weekday: 4, slot: 7 },
];
async function typedPrediction(page: Page): Promise<Row[]> {
  await page.getByTestId('section-predict').click();
  await page.getByTestId('tab-type').click();
  for (const e of QUERY) await addEvent(page, e);
  await setNext(page, 5, 0);
  const rows = await readyPredictions(page, composeKey(QUERY, 5, 0));
  expectRanked(rows);
  return rows;
}

/** Total bytes a weights manifest's entries occupy: uint8-quantized entries 1 byte per value, float32 4. */
function manifestBytes(manifest: {
  weightsManifest: { weights: { shape: number[]; dtype: string; quantization?: unknown }[] }[];
}): number {
  let n = 0;
  for (const g of manifest.weightsManifest)
    for (const w of g.weights) n += w.shape.reduce((a, b) => a * b, 1) * (w.quantization ? 1 : 4);
  return n;
}

test('imports a CSV, fine-tunes in a worker until early stopping, compares on the held-out part and keeps the model across a reload', async ({
  page,
}, testInfo) => {
  const csv = testInfo.outputPath('my-home.csv');
  writeFileSync(csv, smallCsv());
  await page.goto('/#finetune');
  await waitForModel(page);

  await importFile(page, csv);
  const summary = page.getByTestId('finetune-summary');
  await expect(summary).toBeVisible();
  await expect(page.getByTestId('finetune-events')).toHaveText('96');
  await expect(page.getByTestId('finetune-sequences')).toHaveText('12');
  await expect(page.getByTestId('finetune-new-count')).toHaveText('1');
  await expect(page.getByTestId('finetune-new-list')).toHaveText(NEW);
  // The three parts by whole sequence, before anything runs: 20 % held out, 10 % validation.
  await expect(page.getByTestId('finetune-split-train')).toHaveText('9');
  await expect(page.getByTestId('finetune-split-validation')).toHaveText('1');
  await expect(page.getByTestId('finetune-split-heldout')).toHaveText('2');
  await expect(page.getByTestId('finetune-split')).toHaveAttribute('data-selection', 'validation');
  // No split column: the sequence split.
  await expect(page.getByTestId('finetune-split')).toHaveAttribute('data-source', 'sequences');
  await expect(page.getByTestId('finetune-split-note')).toHaveCount(0);
  // It knows 4 of the 5 behaviors; the new one has a device it does not know.
  await expect(page.getByTestId('finetune-known-behaviors')).toHaveText('4');
  await expect(page.getByTestId('finetune-overlap-warning')).toHaveCount(0);
  await expect(page.getByTestId('finetune-new-start')).toContainText('1 without a known “Device:” prefix');

  await page.getByTestId('finetune-lr').selectOption('0.01');
  await page.getByTestId('finetune-patience').fill('1');
  await page.getByTestId('finetune-start').click();
  const status = page.getByTestId('finetune-status');
  // The page answers while the worker trains: the section tabs still switch.
  await expect(status).toHaveAttribute('data-status', /starting|running|done/);
  await expect(status).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  await expect(page.getByTestId('finetune-info')).toContainText(
    '9 training, 1 validation and 2 held-out sequences (split by sequence)',
  );
  await expect(page.getByTestId('finetune-info')).toContainText('epoch picked on validation');
  await expect(page.getByTestId('finetune-info')).toContainText(
    /behavior frequencies.*\(validation loss \d+\.\d{3} matched vs \d+\.\d{3} not\)/,
  );
  // It stopped by itself (patience 1): the validation figures of every check, the kept one marked, both losses named.
  await expect(page.getByTestId('finetune-stop')).toHaveAttribute('data-reason', 'patience');
  const checks = page.getByTestId('finetune-epoch');
  expect(await checks.count()).toBeGreaterThanOrEqual(2);
  await expect(checks.last()).toHaveAttribute('data-improved', 'false');
  await expect(page.getByTestId('finetune-train-loss-label')).toContainText('Training loss: the DRO objective');
  await expect(page.getByTestId('finetune-valid-loss-label')).toContainText(
    'Validation loss: cross-entropy on the validation part',
  );

  // Before/after on the 2 held-out sequences only: 7 predicted events each.
  await expect(page.getByTestId('finetune-results')).toContainText('(14 predicted events)');
  const percent = async (testId: string) => Number((await page.getByTestId(testId).innerText()).replace('%', '')) / 100;
  for (const key of ['weighted_recall@1', 'weighted_recall@5', 'macro_recall@1', 'macro_recall@5']) {
    await expect(page.getByTestId(`before-${key}`)).toHaveText(/^\d+\.\d%$/);
    await expect(page.getByTestId(`after-${key}`)).toHaveText(/^\d+\.\d%$/);
  }
  // Weighted recall on 14 targets is a count of hits over 14 (shown to 0.1%); recall@5 counts every hit of recall@1.
  for (const key of ['weighted_recall@1', 'weighted_recall@5']) {
    const hits = (await percent(`after-${key}`)) * 14;
    expect(Math.abs(hits - Math.round(hits))).toBeLessThanOrEqual(0.0005 * 14 + 1e-9);
  }
  for (const kind of ['weighted', 'macro']) {
    expect(await percent(`after-${kind}_recall@5`)).toBeGreaterThanOrEqual(await percent(`after-${kind}_recall@1`));
  }
  // The base model cannot name the new behavior: 2 of the 14 targets are misses for it.
  expect(await percent('before-weighted_recall@5')).toBeLessThanOrEqual(12 / 14 + 1e-3);
  expect(await percent('before-weighted_recall@1')).toBeLessThanOrEqual(await percent('before-weighted_recall@5'));
  // Markov-2 and popularity fitted on the training part, on the same 14 targets.
  for (const key of ['weighted_recall@1', 'weighted_recall@5', 'macro_recall@1', 'macro_recall@5']) {
    await expect(page.getByTestId(`markov-${key}`)).toHaveText(/^\d+\.\d%$/);
    await expect(page.getByTestId(`popularity-${key}`)).toHaveText(/^\d+\.\d%$/);
  }
  const saved = page.getByTestId('adapted-model');
  await expect(saved).toHaveCount(1);
  const id = await saved.getAttribute('data-id');
  const name = await saved.getAttribute('data-name');
  // Named for its source, settings, date and held-out R@5 as shown.
  expect(name).toMatch(
    new RegExp(
      `^my-home · DRO lr 0\\.01 · \\d+ epochs \\(best \\d+\\) · seed 0 · \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d · held-out R@5 ${(await page.getByTestId('after-weighted_recall@5').innerText()).replace('.', '\\.')}$`,
    ),
  );

  await page.reload();
  await waitForModel(page);
  await expect(page.getByTestId('adapted-model')).toHaveCount(1);
  await expect(page.getByTestId('adapted-model')).toHaveAttribute('data-id', id!);

  // Predict with the adapted model: it knows the new behavior.
  await page.getByTestId('section-predict').click();
  await page.getByTestId('model-select').selectOption(id!);
  await waitForModel(page);
  await expect(page.getByTestId('model-cache')).toContainText('IndexedDB');
  await page.getByTestId('tab-type').click();
  await addEvent(page, { behavior: NEW, weekday: 2, slot: 5 });
  expectRanked(await readyPredictions(page));
});

test('a broken CSV shows the line and field, and the model still predicts', async ({ page }, testInfo) => {
  const csv = testInfo.outputPath('broken.csv');
  const lines = smallCsv().split('\n');
  lines[4] = 'home-0,3,9,5,Light:switch on'; // physical line 5: weekday 9
  writeFileSync(csv, lines.join('\n'));
  await page.goto('/#finetune');
  await waitForModel(page);

  await importFile(page, csv);
  const error = page.getByTestId('finetune-import-error');
  await expect(error).toContainText('line 5');
  await expect(error).toContainText('weekday');
  await expect(page.getByTestId('finetune-summary')).toHaveCount(0);
  await expect(page.getByTestId('finetune-start')).toBeDisabled();

  await page.getByTestId('section-predict').click();
  await page.getByTestId('tab-type').click();
  await addEvent(page, { behavior: 'Light:switch on', weekday: 4, slot: 6 });
  expectRanked(await readyPredictions(page));
});

test('a small import has no validation part, and the summary says so', async ({ page }, testInfo) => {
  const csv = testInfo.outputPath('tiny.csv');
  writeFileSync(csv, smallCsv(3));
  await page.goto('/#finetune');
  await waitForModel(page);
  await importFile(page, csv);
  await expect(page.getByTestId('finetune-sequences')).toHaveText('3');
  await expect(page.getByTestId('finetune-split-train')).toHaveText('2');
  await expect(page.getByTestId('finetune-split-validation')).toHaveText('0');
  await expect(page.getByTestId('finetune-split-heldout')).toHaveText('1');
  await expect(page.getByTestId('finetune-split')).toHaveAttribute('data-selection', 'last-epoch');
  await expect(page.getByTestId('finetune-split-note')).toContainText('too few for a validation part');
  await expect(page.getByTestId('finetune-split-note')).toContainText('last one is kept');
  await expect(page.getByTestId('finetune-start')).toBeEnabled();
});

test('cancel mid-training keeps the base model as it was and adds no model', async ({ page }, testInfo) => {
  await page.goto('/');
  await waitForModel(page);
  const before = await typedPrediction(page);

  // 240 sequences, 50 epochs: hundreds of steps, so the run is surely cancelled mid-training.
  const csv = testInfo.outputPath('long.csv');
  writeFileSync(csv, smallCsv(240));
  await page.getByTestId('tab-finetune').click();
  await importFile(page, csv);
  await expect(page.getByTestId('finetune-sequences')).toHaveText('240');
  await page.getByTestId('finetune-epochs').fill('50');
  await page.getByTestId('finetune-start').click();
  const status = page.getByTestId('finetune-status');
  await expect(page.getByTestId('finetune-step')).toContainText(/Step [1-9]\d* of at most \d+/, { timeout: 120_000 });
  const step = await page
    .getByTestId('finetune-progress')
    .evaluate((p) => [(p as HTMLProgressElement).value, (p as HTMLProgressElement).max]);
  expect(step[0]).toBeGreaterThan(0);
  expect(step[0]).toBeLessThan(step[1]);
  await page.getByTestId('finetune-cancel').click();
  await expect(status).toHaveAttribute('data-status', 'cancelled');
  await expect(status).toContainText('no model was changed');
  // The base model was scored before training; nothing after it.
  await expect(page.getByTestId('before-weighted_recall@5')).toHaveText(/^\d+\.\d%$/);
  await expect(page.getByTestId('after-weighted_recall@5')).toHaveText('–');
  await expect(page.getByTestId('adapted-none')).toBeVisible();
  await expect(page.getByTestId('adapted-model')).toHaveCount(0);

  // Same query, same answer: the page's model was never touched (exact probabilities).
  await page.getByTestId('section-predict').click();
  await expect(page.getByTestId('model-select')).toHaveCount(0); // no adapted model to pick
  const key = composeKey(QUERY, 5, 0);
  expect(await readyPredictions(page, key)).toEqual(before);

  // And after a reload (fresh state, IndexedDB read again): still no adapted model, same prediction.
  await page.goto('/#finetune'); // only the hash changes: a same-document navigation, hence the reload
  await page.reload();
  await waitForModel(page);
  await expect(page.getByTestId('adapted-none')).toBeVisible();
  await expect(page.getByTestId('adapted-model')).toHaveCount(0);
  expectSamePredictions(await typedPrediction(page), before);
});

test('export downloads the adapted model in the weights format, its files named for it', async ({ page }, testInfo) => {
  const { id, name } = await trainSmall(page, testInfo.outputPath('export-home.csv'));
  const downloads: Download[] = [];
  page.on('download', (d) => downloads.push(d));
  const first = page.waitForEvent('download');
  await page.locator(`[data-testid=adapted-model][data-id="${id}"]`).getByTestId('adapted-export').click();
  await first;
  await expect.poll(() => downloads.length).toBe(2); // the manifest and one shard (a small model)

  const files = new Map<string, Buffer>();
  for (const d of downloads) files.set(d.suggestedFilename(), readFileSync((await d.path())!));
  const [manifestName, shardName] = [...files.keys()];
  // behavegpt-<data>-<yyyymmdd-hhmmss>-<id tail>.json and its shard: the model's own names, not model.json.
  expect(manifestName).toMatch(new RegExp(`^behavegpt-export-home-\\d{8}-\\d{6}-${id.slice(-6)}\\.json$`));
  expect(shardName).toBe(manifestName.replace(/\.json$/, '-shard1of1.bin'));
  const manifest = JSON.parse(files.get(manifestName)!.toString('utf8'));
  expect(manifest.format).toBe('behavegpt-weights');
  expect(manifest.formatVersion).toBe(1);
  expect(manifest.name).toBe(name);
  expect(manifest.vocabulary.behaviors.tokens).toContain(NEW);
  expect(manifest.config.numBehaviors).toBe(manifest.vocabulary.behaviors.tokens.length);
  expect(manifest.training.finetune).toMatchObject({
    data: 'export-home.csv',
    trainSequences: 9,
    validationSequences: 1,
    heldOutSequences: 2,
    selection: 'validation',
    split: 'sequences',
  });
  // A recall on the 14 held-out targets: a whole number of hits over 14.
  const hits = manifest.training.finetune.after['weighted_recall@5'] * 14;
  expect(hits).toBeCloseTo(Math.round(hits), 9);
  expect(manifest.training.finetune.baselines['markov-2'].targets).toBe(14);
  expect(manifest.training.valid).toBeUndefined();
  const paths: string[] = manifest.weightsManifest.flatMap((g: { paths: string[] }) => g.paths);
  expect(paths).toEqual([shardName]);
  const weights = manifest.weightsManifest.flatMap(
    (g: { weights: { name: string; quantization?: { dtype: string } }[] }) => g.weights,
  );
  expect(weights.map((w: { name: string }) => w.name)).toContain('embed.behavior');
  // int8: every quantized entry is uint8 (matrices per row, with float32 row scales beside them).
  expect(
    weights
      .filter((w: { quantization?: { dtype: string } }) => w.quantization)
      .every((w: { quantization?: { dtype: string } }) => w.quantization!.dtype === 'uint8'),
  ).toBe(true);
  expect(files.get(shardName)!.byteLength).toBe(manifestBytes(manifest));
  expect(manifest.weightsManifest[0].byteLengths).toEqual([files.get(shardName)!.byteLength]);
});

test('deleting an adapted model removes it from IndexedDB: gone after a reload', async ({ page }, testInfo) => {
  const { id } = await trainSmall(page, testInfo.outputPath('delete-home.csv'));
  await page.reload();
  await waitForModel(page);
  await expect(page.getByTestId('adapted-model')).toHaveCount(1);
  await expect(page.getByTestId('adapted-model')).toHaveAttribute('data-id', id);

  await page.getByTestId('adapted-delete').click();
  await expect(page.getByTestId('adapted-model')).toHaveCount(0);
  await page.reload();
  await waitForModel(page);
  await expect(page.getByTestId('adapted-none')).toBeVisible();
  await expect(page.getByTestId('adapted-model')).toHaveCount(0);
  const stored = await page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const open = indexedDB.open('behavegpt-adapted-models');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const names = [...db.objectStoreNames];
          if (names.length === 0) return resolve(0);
          const tx = db.transaction(names, 'readonly');
          let total = 0;
          let pending = names.length;
          for (const n of names) {
            const count = tx.objectStore(n).count();
            count.onsuccess = () => {
              total += count.result;
              if (--pending === 0) resolve(total);
            };
            count.onerror = () => reject(count.error);
          }
        };
      }),
  );
  expect(stored).toBe(0);
  await page.getByTestId('section-predict').click();
  await expect(page.getByTestId('model-select')).toHaveCount(0);
});
