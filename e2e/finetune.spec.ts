import { writeFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { addEvent, expectRanked, readyPredictions, waitForModel } from './app-helpers';

/** Behaviors the shipped model knows, plus one it has never seen. */
const KNOWN = ['Light:switch on', 'Television:switch on', 'Television:switch off', 'Light:switch off'];
const NEW = 'Robot:clean start';

/** A small canonical log: 12 sequences of 8 events, the new behavior in each. */
function smallCsv(): string {
  const rows = ['sequence_id,step,weekday,time_slot,behavior'];
  for (let s = 0; s < 12; s++) {
    for (let t = 0; t < 8; t++) {
      const behavior = t === 3 ? NEW : KNOWN[(s + t) % KNOWN.length];
      rows.push(`home-${s},${t},${s % 7},${(t + 4) % 8},${behavior}`);
    }
  }
  return rows.join('\n') + '\n';
}

async function importFile(page: Page, path: string): Promise<void> {
  await page.getByTestId('finetune-file').setInputFiles(path);
}

test('imports a CSV, fine-tunes 1 epoch in a worker, compares before/after and keeps the model across a reload', async ({ page }, testInfo) => {
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

  await page.getByTestId('finetune-epochs').fill('1');
  await page.getByTestId('finetune-start').click();
  const status = page.getByTestId('finetune-status');
  // The page answers while the worker trains: the section tabs still switch.
  await expect(status).toHaveAttribute('data-status', /starting|running|done/);
  await expect(status).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  await expect(page.getByTestId('finetune-info')).toContainText('10 training and 2 held-out sequences');
  await expect(page.getByTestId('finetune-step')).toContainText('epoch 1');

  for (const key of ['weighted_recall@1', 'weighted_recall@5', 'macro_recall@1', 'macro_recall@5']) {
    await expect(page.getByTestId(`before-${key}`)).toHaveText(/^\d+\.\d%$/);
    await expect(page.getByTestId(`after-${key}`)).toHaveText(/^\d+\.\d%$/);
  }
  const saved = page.getByTestId('adapted-model');
  await expect(saved).toHaveCount(1);
  const id = await saved.getAttribute('data-id');
  const name = await saved.getAttribute('data-name');
  expect(name).toContain('my-home.csv');

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
