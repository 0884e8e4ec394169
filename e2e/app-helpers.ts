/** Shared steps and checks for the app's end-to-end tests. */
import { expect, type Page } from '@playwright/test';

/** Model load, including WebGPU on SwiftShader (slow). */
export const MODEL_TIMEOUT = 150_000;

export interface Row {
  behavior: string;
  probability: number;
}

/** Waits until the model is ready; fails at once with the app's message if it failed to load. */
export async function waitForModel(page: Page): Promise<void> {
  const status = page.locator(
    '[data-testid=model-status][data-status=ready], [data-testid=model-status][data-status=error]',
  );
  await expect(status).toHaveCount(1, { timeout: MODEL_TIMEOUT });
  const state = await status.getAttribute('data-status');
  if (state !== 'ready') throw new Error(`model failed to load: ${await status.innerText()}`);
}

export async function backendName(page: Page): Promise<string> {
  return (await page.getByTestId('backend-name').innerText()).trim();
}

/** The prediction rows once the predictions for `key` (or the current query) are ready. */
export async function readyPredictions(page: Page, key?: string | RegExp): Promise<Row[]> {
  const list = page.getByTestId('predictions');
  await expect(list).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  if (key !== undefined) await expect(list).toHaveAttribute('data-key', key);
  return list.getByTestId('prediction-row').evaluateAll((rows) =>
    rows.map((r) => ({
      behavior: (r as HTMLElement).dataset.behavior ?? '',
      probability: Number((r as HTMLElement).dataset.probability),
    })),
  );
}

/**
 * The same top-k as before a reload: the same behaviors in the same order, probabilities within
 * 1e-6. Not bit for bit: each load measures which engine predicts (plain JS or tfjs), and the two
 * agree within 1e-6, not exactly, so which one a load picks is a timing this test must not depend on.
 */
export function expectSamePredictions(actual: Row[], expected: Row[], message?: string): void {
  expect(
    actual.map((r) => r.behavior),
    message,
  ).toEqual(expected.map((r) => r.behavior));
  actual.forEach((r, i) => {
    expect(Math.abs(r.probability - expected[i].probability), `${message ?? ''} ${r.behavior}`).toBeLessThan(1e-6);
  });
}

/** k rows, distinct behaviors, probabilities in [0, 1], sorted descending, summing to ≤ 1. */
export function expectRanked(rows: Row[], k = 5): void {
  expect(rows).toHaveLength(k);
  expect(new Set(rows.map((r) => r.behavior)).size).toBe(k);
  for (const r of rows) {
    expect(r.behavior).toMatch(/^[^:]+:.+/);
    expect(Number.isFinite(r.probability)).toBe(true);
    expect(r.probability).toBeGreaterThanOrEqual(0);
    expect(r.probability).toBeLessThanOrEqual(1);
  }
  for (let i = 1; i < rows.length; i++) expect(rows[i - 1].probability).toBeGreaterThanOrEqual(rows[i].probability);
  expect(rows.reduce((s, r) => s + r.probability, 0)).toBeLessThanOrEqual(1 + 1e-4);
}

export interface TypedEvent {
  behavior: string;
  weekday: number;
  slot: number;
}

export async function addEvent(page: Page, e: TypedEvent): Promise<void> {
  await page.getByTestId('type-behavior-input').fill(e.behavior);
  await page.getByTestId('type-weekday').selectOption(String(e.weekday));
  await page.getByTestId('type-slot').selectOption(String(e.slot));
  const add = page.getByTestId('type-add');
  await expect(add).toBeEnabled();
  await add.click();
  await expect(page.getByTestId('type-behavior-input')).toHaveValue('');
}

/** The predictions key the Type view gives a sequence and next-event time. */
export function composeKey(events: readonly TypedEvent[], weekday: number, slot: number): string {
  return `${events.map((e) => `${e.behavior}@${e.weekday}.${e.slot}`).join('|')}=>${weekday}.${slot}`;
}

export async function setNext(page: Page, weekday: number, slot: number): Promise<void> {
  await page.getByTestId('next-weekday').selectOption(String(weekday));
  await page.getByTestId('next-slot').selectOption(String(slot));
}
