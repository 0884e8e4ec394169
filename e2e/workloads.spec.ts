import { writeFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { waitForModel } from './app-helpers';

/** 12 sequences of 8 events of behaviors the shipped model knows, one a refresh event: 84 scored positions. */
function smallCsv(): string {
  const known = ['Light:switch on', 'Television:switch on', 'Television:switch off', 'Light:switch off'];
  const rows = ['sequence_id,step,weekday,time_slot,behavior'];
  for (let s = 0; s < 12; s++)
    for (let t = 0; t < 8; t++)
      rows.push(
        `home-${s},${t},${s % 7},${(t + 4) % 8},${s === 0 && t === 5 ? 'Light:refresh refresh' : known[(s + t) % known.length]}`,
      );
  return `${rows.join('\n')}\n`;
}

async function scoreSmallLog(page: Page, path: string): Promise<Record<string, number>> {
  await page.getByTestId('finetune-file').setInputFiles(path);
  await expect(page.getByTestId('finetune-sequences')).toHaveText('12');
  const panel = page.getByTestId('score-log').first();
  await panel.getByTestId('score-start').click();
  await expect(panel.getByTestId('score-status')).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  const values: Record<string, number> = {};
  for (const key of ['targets', 'loss', 'weighted_recall@1', 'weighted_recall@5', 'macro_recall@5', 'mrr'])
    values[key] = Number(await panel.getByTestId(`score-all-${key}`).getAttribute('data-value'));
  values['norefresh-targets'] = Number(await panel.getByTestId('score-norefresh-targets').getAttribute('data-value'));
  return values;
}

test('the header names the engine of each workload with its measured reason; ?engine=tfjs forces tfjs', async ({
  page,
}) => {
  await page.goto('/');
  await waitForModel(page);
  const predict = page.getByTestId('engine-predict');
  // Both engines were timed at load; which one wins is a measurement, not something to test.
  await expect(predict).toHaveAttribute('data-engine', /^(js|tfjs)$/);
  await expect(predict).toContainText(/measured faster: .*ms vs .*ms per prediction/);
  await expect(page.getByTestId('engine-score')).toContainText('not chosen yet');
  await expect(page.getByTestId('engine-generate')).toContainText('not chosen yet');

  await page.goto('/?engine=tfjs');
  await waitForModel(page);
  for (const workload of ['predict', 'score', 'generate']) {
    await expect(page.getByTestId(`engine-${workload}`)).toHaveAttribute('data-engine', 'tfjs');
    await expect(page.getByTestId(`engine-${workload}`)).toContainText('requested in the URL');
  }
  await page.goto('/?engine=gpu');
  await expect(page.getByRole('alert').filter({ hasText: 'Ignoring ?engine=gpu' })).toBeVisible();
});

test('score this log: every position of an imported log, the CLI metrics, the same on both engines; shown in Evaluation too', async ({
  page,
}, testInfo) => {
  const path = testInfo.outputPath('small.csv');
  writeFileSync(path, smallCsv());
  const scores: Record<string, Record<string, number>> = {};
  for (const engine of ['js', 'tfjs', 'auto']) {
    await page.goto(`/?engine=${engine}#finetune`);
    await waitForModel(page);
    scores[engine] = await scoreSmallLog(page, path);
    expect(scores[engine].targets).toBe(84);
    expect(scores[engine]['norefresh-targets']).toBe(83);
    for (const key of ['weighted_recall@1', 'weighted_recall@5', 'macro_recall@5', 'mrr']) {
      expect(scores[engine][key]).toBeGreaterThanOrEqual(0);
      expect(scores[engine][key]).toBeLessThanOrEqual(1);
    }
    expect(scores[engine]['weighted_recall@5']).toBeGreaterThanOrEqual(scores[engine]['weighted_recall@1']);
    expect(scores[engine].loss).toBeGreaterThan(0);
  }
  for (const key of Object.keys(scores.js)) {
    expect(Math.abs(scores.js[key] - scores.tfjs[key])).toBeLessThan(1e-5);
    expect(Math.abs(scores.js[key] - scores.auto[key])).toBeLessThan(1e-5);
  }
  // With ?engine=auto (no engine forced) the scoring measured both engines and says which ran.
  await expect(page.getByTestId('engine-score')).toContainText(/measured faster: .*positions\/s vs .*positions\/s/);
  await expect(page.getByTestId('score-results')).toContainText('scored by');
  // Evaluation offers the same on the log imported in Fine-tune, and keeps the result.
  await page.getByTestId('tab-evaluation').click();
  await expect(page.getByTestId('score-log')).toBeVisible();
  await expect(page.getByTestId('score-results')).toBeVisible();
});

/** Generate's form: 12 events from an empty history, seed 3, `trajectories` at once. */
async function fillGenerateForm(page: Page, trajectories: string): Promise<void> {
  await page.getByTestId('generate-source').selectOption('empty');
  await page.getByTestId('generate-mode').selectOption('count');
  await page.getByTestId('generate-count').fill('12');
  await page.getByTestId('generate-seed').fill('3');
  await page.getByTestId('generate-trajectories').fill(trajectories);
}

test('generate several trajectories at once: the charts pool them, the list shows the first', async ({ page }) => {
  await page.goto('/#generate');
  await waitForModel(page);
  await fillGenerateForm(page, '0');
  await expect(page.getByTestId('generate-errors')).toContainText('Trajectories: a whole number from 1 to 200.');
  await page.getByTestId('generate-trajectories').fill('6');
  await expect(page.getByTestId('generate-errors')).toHaveCount(0);
  await page.getByTestId('generate-start').click();
  const status = page.getByTestId('generate-status');
  await expect(status).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  await expect(status).toContainText('72 events in 6 trajectories');
  const counter = page.getByTestId('generated-count');
  await expect(counter).toHaveAttribute('data-count', '12');
  await expect(counter).toHaveAttribute('data-pooled', '72');
  await expect(page.getByTestId('generated-event')).toHaveCount(12);
  await expect(page.getByTestId('engine-generate')).toContainText(
    /measured faster: .*events\/s vs .*events\/s over the first 3 steps of 6 trajectories/,
  );

  // The first trajectory is the single run with the same seed, on one engine: each number of
  // trajectories measures its own, and plain JS and tfjs agree within 1e-6, not bit for bit, so a
  // sample could differ between them, however rarely.
  await page.goto('/?engine=js#generate');
  await waitForModel(page);
  await fillGenerateForm(page, '6');
  await page.getByTestId('generate-start').click();
  await expect(status).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  await expect(counter).toHaveAttribute('data-pooled', '72');
  const events = () =>
    page.getByTestId('generated-event').evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.behavior));
  const first = await events();
  await page.getByTestId('generate-trajectories').fill('1');
  const before = await status.getAttribute('data-run');
  await page.getByTestId('generate-start').click();
  await expect(status).not.toHaveAttribute('data-run', before ?? '');
  await expect(status).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  await expect(counter).toHaveAttribute('data-count', '12');
  expect(await events()).toEqual(first);
});
