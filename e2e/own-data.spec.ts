/**
 * Fine-tuning on one's own data: the file's split, a log the model knows nothing of, the budget
 * running out and Continue, and the command line agreeing with the app.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, test } from './fixtures';
import { waitForModel } from './app-helpers';
import { figure, importLog, METRICS, runToEnd, VENDOR_NAMES, writeLog } from './finetune-helpers';

test('the CLI and the app report the same held-out figures for the same file and seed', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  const csv = writeLog(testInfo.outputPath('agree.csv'), {
    sequences: 30,
    names: VENDOR_NAMES,
    pattern: 'random',
    split: true,
    seed: 7,
  });
  // The app on wasm, the backend Node runs: only the patience is set (1, a short run), the same on both sides.
  await page.goto('/?backend=wasm#finetune');
  await waitForModel(page);
  await importLog(page, csv);
  await page.getByTestId('finetune-patience').fill('1');
  await runToEnd(page);
  const out = testInfo.outputPath('cli-model');
  const json = execFileSync(
    'npx',
    ['tsx', 'src/cli/finetune.ts', '--data', csv, '--out', out, '--patience', '1', '--json'],
    { encoding: 'utf8', timeout: 240_000 },
  );
  const cli = JSON.parse(json.slice(json.indexOf('{')));
  for (const [column, key] of [
    ['after', 'after'],
    ['before', 'before'],
    ['markov', 'markov-2'],
    ['popularity', 'popularity'],
  ] as const) {
    for (const metric of METRICS)
      expect.soft(await figure(page, column, metric), `${column} ${metric}`).toBe(cli[key][metric]);
  }
  // The same epochs too: the kept one and how many ran.
  const figures = JSON.parse(readFileSync(`${out}/figures.json`, 'utf8'));
  await expect(page.getByTestId('finetune-epoch')).toHaveCount(
    figures.checks.filter((c: { arm: string }) => c.arm === 'adapted').length,
  );
});

test("another vendor's log with its own split: the file's split is used, the summary says the model knows none of it, and the base scores 0", async ({
  page,
}, testInfo) => {
  // 30 sequences of 8 events: 6 test (i % 5 = 0), 6 valid (i % 5 = 1), 18 train.
  const csv = writeLog(testInfo.outputPath('vendor.csv'), {
    sequences: 30,
    names: VENDOR_NAMES,
    pattern: 'random',
    split: true,
    seed: 3,
  });
  await page.goto('/#finetune');
  await waitForModel(page);
  await importLog(page, csv);
  const split = page.getByTestId('finetune-split');
  await expect(split).toHaveAttribute('data-source', 'file');
  await expect(split).toContainText("Your file's own split column is used");
  await expect(page.getByTestId('finetune-split-train')).toHaveText('18');
  await expect(page.getByTestId('finetune-split-validation')).toHaveText('6');
  await expect(page.getByTestId('finetune-split-heldout')).toHaveText('6');
  // Nothing known: the notice, and how the new behaviors start.
  await expect(page.getByTestId('finetune-known-behaviors')).toHaveText('0');
  await expect(page.getByTestId('finetune-overlap')).toContainText('covering 0 of 240 events');
  await expect(page.getByTestId('finetune-overlap-warning')).toContainText('knows none of them');
  await expect(page.getByTestId('finetune-overlap-warning')).toContainText('near 0%');
  await expect(page.getByTestId('finetune-new-start')).toContainText(
    '8 without a known “Device:” prefix start from the average behavior',
  );

  await page.getByTestId('finetune-patience').fill('1');
  await runToEnd(page);
  await expect(page.getByTestId('finetune-info')).toContainText(
    "18 training, 6 validation and 6 held-out sequences (the file's own split)",
  );
  // Held out: exactly the 6 test sequences, 7 targets each.
  await expect(page.getByTestId('finetune-results')).toContainText('(42 predicted events)');
  for (const metric of METRICS) expect(await figure(page, 'before', metric)).toBe(0);
  // Markov-2 and popularity fitted on the 18 train sequences rank every behavior the test part has.
  expect(await figure(page, 'popularity', 'weighted_recall@5')).toBeGreaterThan(0);
  expect(await figure(page, 'after', 'weighted_recall@5')).toBeGreaterThan(0);
  await expect(page.getByTestId('finetune-verdict')).toContainText('Markov-2');
});

test('a budget that ends while the model still improves says so, and Continue goes on from where it stopped', async ({
  page,
}, testInfo) => {
  test.setTimeout(300_000);
  // A learnable log (each sequence cycles through the behaviors): validation loss falls for a long time.
  // 600 sequences: 420 train, 14 steps an epoch, so 6 epochs hold several validation checks.
  const csv = writeLog(testInfo.outputPath('cycles.csv'), {
    sequences: 600,
    length: 10,
    names: VENDOR_NAMES,
    pattern: 'cycle',
  });
  await page.goto('/#finetune');
  await waitForModel(page);
  await importLog(page, csv);
  await page.getByTestId('finetune-lr').selectOption('0.001');
  await page.getByTestId('finetune-epochs').fill('6');
  await page.getByTestId('finetune-min-steps').fill('0');
  await runToEnd(page);
  const stop = page.getByTestId('finetune-stop');
  await expect(stop).toHaveAttribute('data-reason', 'budget');
  await expect(stop).toHaveAttribute('data-still-improving', 'true');
  await expect(stop).toContainText('The budget ended before the model stopped improving');
  await expect(page.getByTestId('finetune-epoch').last()).toHaveAttribute('data-epoch', '6');
  await expect(page.getByTestId('finetune-epoch').last()).toHaveAttribute('data-improved', 'true');
  const checks = await page.getByTestId('finetune-epoch').count();
  expect(checks).toBeGreaterThanOrEqual(2);
  await expect(page.getByTestId('adapted-model')).toHaveCount(1);
  const firstR5 = await figure(page, 'after', 'weighted_recall@5');
  const lastLoss = Number((await page.getByTestId('finetune-epoch').last().locator('td').nth(2).innerText()).trim());

  await page.getByTestId('finetune-continue').click();
  await expect(page.getByTestId('finetune-status')).toHaveAttribute('data-status', 'done', { timeout: 170_000 });
  // Numbering goes on (epochs 7–12), and the model goes on improving from where it stopped.
  await expect(page.getByTestId('finetune-epoch').last()).toHaveAttribute('data-epoch', /^(7|8|9|1[0-2])$/);
  const epochs = await page
    .getByTestId('finetune-epoch')
    .evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.epoch)));
  expect(epochs.length).toBeGreaterThan(checks);
  expect(epochs[checks]).toBeGreaterThan(6);
  const losses = await page
    .getByTestId('finetune-epoch')
    .evaluateAll((rows) => rows.map((r) => Number(r.querySelectorAll('td')[2].textContent)));
  expect(Math.min(...losses.slice(checks))).toBeLessThan(lastLoss);
  // A second model, named as continued; the comparison's base and baselines are the first run's.
  await expect(page.getByTestId('adapted-model')).toHaveCount(2);
  await expect(page.getByTestId('adapted-model').first()).toHaveAttribute(
    'data-name',
    /\d+ epochs \(best \d+\), continued/,
  );
  expect(await figure(page, 'after', 'weighted_recall@5')).toBeGreaterThanOrEqual(firstR5);
});
