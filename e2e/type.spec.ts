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

const A: TypedEvent = { behavior: 'Light:switch on', weekday: 4, slot: 6 };
const B: TypedEvent = { behavior: 'Television:switch on', weekday: 4, slot: 6 };
const C: TypedEvent = { behavior: 'Television:switch off', weekday: 5, slot: 7 };

test('typing a sequence: add, remove, change the next event time; predictions follow', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('tab-type').click();
  await expect(page.getByTestId('tab-type')).toHaveAttribute('aria-selected', 'true');
  await waitForModel(page);

  // The behavior list offers the model's behaviors; an unknown name cannot be added.
  const options = await page
    .locator('#behavior-names option')
    .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  expect(options.length).toBeGreaterThan(50);
  expect(options).toContain(A.behavior);
  expect(options.some((o) => o.startsWith('<'))).toBe(false);
  await page.getByTestId('type-behavior-input').fill('Toaster:launch');
  await expect(page.getByTestId('type-add')).toBeDisabled();

  for (const e of [A, B, C]) await addEvent(page, e);
  const rows = page.getByTestId('type-event-row');
  await expect(rows).toHaveCount(3);
  await page.getByTestId('type-remove').nth(1).click();
  await expect(rows).toHaveCount(2);
  expect(await rows.evaluateAll((rs) => rs.map((r) => (r as HTMLElement).dataset.behavior))).toEqual([
    A.behavior,
    C.behavior,
  ]);

  const before = await readyPredictions(page, composeKey([A, C], 4, 6));
  expectRanked(before);

  await setNext(page, 0, 2);
  await expect(page.getByTestId('predictions')).toHaveAttribute('data-key', composeKey([A, C], 0, 2));
  const after = await readyPredictions(page, composeKey([A, C], 0, 2));
  expectRanked(after);
  // Monday morning is not Friday evening: the distribution must change.
  expect(after.map((r) => r.probability)).not.toEqual(before.map((r) => r.probability));

  // Removing everything still predicts (from the time alone).
  await page.getByTestId('type-remove').first().click();
  await page.getByTestId('type-remove').first().click();
  await expect(rows).toHaveCount(0);
  expectRanked(await readyPredictions(page, composeKey([], 0, 2)));
});

test('rapid edits: only the latest query is shown', async ({ page }) => {
  await page.goto('/#type');
  await waitForModel(page);
  await addEvent(page, A);
  // Several changes faster than the debounce: the result must belong to the final state.
  for (const slot of [0, 1, 2, 3, 4]) await page.getByTestId('next-slot').selectOption(String(slot));
  await page.getByTestId('next-weekday').selectOption('6');
  const rows = await readyPredictions(page, composeKey([A], 6, 4));
  expectRanked(rows);
  await expect(page.getByTestId('next-slot')).toHaveValue('4');
});
