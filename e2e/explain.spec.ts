import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { addEvent, composeKey, readyPredictions, waitForModel, type TypedEvent } from './app-helpers';

const A: TypedEvent = { behavior: 'Light:switch on', weekday: 4, slot: 6 };
const B: TypedEvent = { behavior: 'Television:switch on', weekday: 4, slot: 6 };
const C: TypedEvent = { behavior: 'Television:switch off', weekday: 5, slot: 7 };

/** Decoder (float64) against the tfjs backend (float32): the same distribution within this. */
const TOLERANCE = 2e-3;

async function numbers(page: Page, testId: string): Promise<number[]> {
  return page.getByTestId(testId).evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.value)));
}

async function readyPanel(page: Page, testId: 'why-panel' | 'week-panel'): Promise<void> {
  await expect(page.getByTestId(testId)).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
}

test('Type: Why is closed until asked; its influence is what removing the event really does', async ({ page }) => {
  await page.goto('/#type');
  await waitForModel(page);
  for (const e of [A, B, C]) await addEvent(page, e);
  const top = (await readyPredictions(page, composeKey([A, B, C], 4, 6)))[0];

  // Nothing is explained until asked.
  await expect(page.getByTestId('toggle-why')).toHaveAttribute('aria-pressed', 'false');
  await expect(page.getByTestId('why-value')).toHaveCount(0);
  await expect(page.getByTestId('week-panel')).toHaveCount(0);

  await page.getByTestId('toggle-why').click();
  await readyPanel(page, 'why-panel');
  await expect(page.getByTestId('why-panel').locator('h3')).toContainText(top.behavior);
  await expect(page.locator('table.events th').filter({ hasText: 'Influence' })).toHaveCount(1);
  const influence = await numbers(page, 'why-value');
  expect(influence).toHaveLength(3);
  for (const v of influence) expect(Math.abs(v)).toBeLessThanOrEqual(1);
  await expect(page.getByTestId('why-value').first()).toContainText(' pp');

  // Removing the event whose influence is smallest moves P(top) by exactly that influence.
  const i = influence.reduce((best, v, j) => (Math.abs(v) < Math.abs(influence[best]) ? j : best), 0);
  await page.getByTestId('type-remove').nth(i).click();
  const left = [A, B, C].filter((_, j) => j !== i);
  const after = await readyPredictions(page, composeKey(left, 4, 6));
  const again = after.find((r) => r.behavior === top.behavior);
  expect(again, `${top.behavior} stays in the top 5`).toBeDefined();
  expect(Math.abs(again!.probability - (top.probability - influence[i]))).toBeLessThan(TOLERANCE);

  // Attention: weights in [0, 1] that leave the rest to the start token.
  await page.getByTestId('why-attention').check();
  await readyPanel(page, 'why-panel');
  await expect(page.locator('table.events th').filter({ hasText: 'Attention' })).toHaveCount(1);
  const attention = await numbers(page, 'why-value');
  expect(attention).toHaveLength(2);
  for (const w of attention) expect(w).toBeGreaterThanOrEqual(0);
  expect(attention.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1);
  await page.getByTestId('why-head').selectOption('0.1');
  expect(await numbers(page, 'why-value')).not.toEqual(attention);
});

test('Type: the week of a behavior; clicking a cell sets the time of the event to predict', async ({ page }) => {
  await page.goto('/#type');
  await waitForModel(page);
  for (const e of [A, B, C]) await addEvent(page, e);
  const predictions = await readyPredictions(page, composeKey([A, B, C], 4, 6));
  await page.getByTestId('toggle-when').click();
  await readyPanel(page, 'week-panel');

  // Heatmap: the cell of the time asked holds the predicted probability of the top-1.
  const cells = page.getByTestId('week-cell');
  await expect(cells).toHaveCount(56);
  const current = page.locator('[data-testid=week-cell][data-weekday="4"][data-slot="6"]');
  await expect(current).toHaveClass(/current/);
  expect(Math.abs(Number(await current.getAttribute('data-value')) - predictions[0].probability)).toBeLessThan(
    TOLERANCE,
  );

  // Another behavior on click in the predictions.
  await page.getByTestId('explain-pick').nth(1).click();
  await expect(page.getByTestId('week-panel').locator('h3')).toContainText(predictions[1].behavior);
  await readyPanel(page, 'week-panel');
  expect(Math.abs(Number(await current.getAttribute('data-value')) - predictions[1].probability)).toBeLessThan(
    TOLERANCE,
  );

  // The time head sums to one over the week; the joint to the total shown; its top 5 descend.
  await page.getByTestId('week-view-time').check();
  const time = await numbers(page, 'week-cell');
  expect(Math.abs(time.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-4);
  await page.getByTestId('week-view-joint').check();
  const joint = await numbers(page, 'week-cell');
  const total = Number((await page.getByTestId('week-total').innerText()).replace('%', '')) / 100;
  expect(Math.abs(joint.reduce((a, b) => a + b, 0) - total)).toBeLessThan(6e-4);
  const top5 = await page
    .getByTestId('joint-row')
    .evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.probability)));
  expect(top5).toHaveLength(5);
  for (let k = 1; k < 5; k++) expect(top5[k]).toBeLessThanOrEqual(top5[k - 1]);
  expect(top5[0]).toBeGreaterThanOrEqual(Math.max(...joint) - 1e-9);

  // The most likely behavior of every cell, coloured, with a legend of them all.
  await page.getByTestId('week-view-top').check();
  const tops = await page
    .getByTestId('week-cell')
    .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.top ?? ''));
  const legend = await page
    .getByTestId('top-legend')
    .locator('li')
    .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.behavior ?? ''));
  expect(new Set(tops)).toEqual(new Set(legend));
  const currentTop = Number(await current.getAttribute('data-value'));
  expect(Math.abs(currentTop - predictions[0].probability)).toBeLessThan(TOLERANCE);

  // A click on Monday 00–03 h predicts the next event then; so does Enter on a focused cell.
  await page.locator('[data-testid=week-cell][data-weekday="0"][data-slot="0"] button').click();
  await expect(page.getByTestId('next-weekday')).toHaveValue('0');
  await expect(page.getByTestId('next-slot')).toHaveValue('0');
  await readyPredictions(page, composeKey([A, B, C], 0, 0));
  await page.locator('[data-testid=week-cell][data-weekday="6"][data-slot="7"] button').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('next-weekday')).toHaveValue('6');
  await expect(page.getByTestId('next-slot')).toHaveValue('7');
  await readyPredictions(page, composeKey([A, B, C], 6, 7));
  await expect(page.locator('[data-testid=week-cell][data-weekday="6"][data-slot="7"]')).toHaveClass(/current/);

  // Without events there is no time to count from: the joint falls back to the heatmap, from the time of day.
  await page.getByTestId('week-view-joint').check();
  await page.getByRole('button', { name: 'Clear all' }).click();
  await readyPredictions(page, composeKey([], 6, 7));
  await readyPanel(page, 'week-panel');
  await expect(page.getByTestId('week-no-time')).toBeVisible();
  await expect(page.getByTestId('week-panel')).toHaveAttribute('data-view', 'heatmap');
  await expect(page.getByTestId('week-view-joint')).toBeDisabled();
  await expect(page.getByTestId('week-cell')).toHaveCount(56);
  await expect(page.getByTestId('joint-top')).toHaveCount(0);
});

test('Replay: influence of every event so far, and the week of the predicted behavior', async ({ page }) => {
  await page.goto('/#replay');
  await waitForModel(page);
  await page.getByTestId('replay-last').click();
  const step = Number(await page.getByTestId('replay-step').getAttribute('data-step'));
  const predictions = await readyPredictions(page);
  await page.getByTestId('toggle-why').click();
  await page.getByTestId('toggle-when').click();
  await readyPanel(page, 'why-panel');
  await readyPanel(page, 'week-panel');
  const influence = await numbers(page, 'why-value');
  expect(influence).toHaveLength(Math.min(step, 32));
  await expect(page.getByTestId('why-panel').locator('h3')).toContainText(predictions[0].behavior);
  // The replayed time is fixed: the grid shows it but is not a control.
  await expect(page.getByTestId('week-cell')).toHaveCount(56);
  await expect(page.locator('[data-testid=week-cell] button')).toHaveCount(0);
  await expect(page.locator('[data-testid=week-cell].current')).toHaveCount(1);

  // Explaining the second prediction changes the bars.
  await page.getByTestId('explain-pick').nth(1).click();
  await expect(page.getByTestId('why-panel').locator('h3')).toContainText(predictions[1].behavior);
  await readyPanel(page, 'why-panel');
  expect(await numbers(page, 'why-value')).not.toEqual(influence);

  // Closing both panels removes the bars.
  await page.getByTestId('toggle-why').click();
  await page.getByTestId('toggle-when').click();
  await expect(page.getByTestId('why-value')).toHaveCount(0);
});
