import type { Page, Route } from '@playwright/test';
import { expect, test } from './fixtures';
import { waitForModel } from './app-helpers';

interface Generated {
  index: number;
  weekday: number;
  slot: number;
  day: number;
  behavior: string;
}

async function generatedEvents(page: Page): Promise<Generated[]> {
  return page.getByTestId('generated-event').evaluateAll((items) =>
    items.map((li) => {
      const d = (li as HTMLElement).dataset;
      return {
        index: Number(d.index),
        weekday: Number(d.weekday),
        slot: Number(d.slot),
        day: Number(d.day),
        behavior: d.behavior ?? '',
      };
    }),
  );
}

async function count(page: Page): Promise<number> {
  return Number(await page.getByTestId('generated-count').getAttribute('data-count'));
}

/** Clicks Generate and waits for that run (not an earlier one) to finish. */
async function generate(page: Page): Promise<void> {
  const status = page.getByTestId('generate-status');
  const before = await status.getAttribute('data-run');
  await page.getByTestId('generate-start').click();
  await expect(status).not.toHaveAttribute('data-run', before ?? '');
  await expect(status).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
}

test('generate 50 events from a replayed sequence: a valid timeline, reproducible with a seed; stop a 1000-event run mid-stream', async ({
  page,
}) => {
  await page.goto('/');
  await page.getByTestId('tab-generate').click();
  await expect(page.getByTestId('tab-generate')).toHaveAttribute('aria-selected', 'true');
  await expect(page).toHaveURL(/#generate$/);
  await waitForModel(page);
  await expect(page.getByTestId('generate-unavailable')).toHaveCount(0);

  // Continue the first replayed sequence after its first 5 events.
  await page.getByTestId('generate-source').selectOption('replay');
  await page.getByTestId('generate-step').fill('5');
  await expect(page.getByTestId('generate-prefix')).toHaveAttribute('data-length', '5');
  await page.getByTestId('generate-mode').selectOption('count');
  await page.getByTestId('generate-count').fill('50');
  await page.getByTestId('generate-temperature').fill('1');
  await page.getByTestId('generate-top-k').fill('0');
  await page.getByTestId('generate-seed').fill('7');
  await expect(page.getByTestId('generate-errors')).toHaveCount(0);

  await generate(page);
  expect(await count(page)).toBe(50);
  const events = await generatedEvents(page);
  expect(events).toHaveLength(50);
  events.forEach((e, i) => {
    expect(e.index).toBe(i);
    expect(Number.isInteger(e.weekday) && e.weekday >= 0 && e.weekday <= 6).toBe(true);
    expect(Number.isInteger(e.slot) && e.slot >= 0 && e.slot <= 7).toBe(true);
    expect(e.behavior).toMatch(/^[^:<]+:.+/);
  });
  // Days only move forward, and a day's weekday follows from the day before.
  for (let i = 1; i < events.length; i++) {
    const [a, b] = [events[i - 1], events[i]];
    expect(b.day).toBeGreaterThanOrEqual(a.day);
    expect((((b.day - a.day - (b.weekday - a.weekday)) % 7) + 7) % 7).toBe(0);
    if (b.day === a.day) expect(b.slot).toBeGreaterThanOrEqual(a.slot);
  }

  // The timeline chart has drawn one mark per generated event; the comparison charts are drawn.
  const timeline = page.getByTestId('generate-timeline');
  await expect(timeline).toHaveAttribute('data-status', 'ready');
  await expect(timeline.locator('g.generated_marks path')).toHaveCount(50);
  // The prefix is drawn too, lighter: its last event at least (earlier ones only within a week).
  const prefixMarks = await timeline.locator('g.prefix_marks path').count();
  expect(prefixMarks).toBeGreaterThanOrEqual(1);
  expect(prefixMarks).toBeLessThanOrEqual(5);
  for (const id of ['generate-compare-device', 'generate-compare-slot', 'generate-compare-weekday']) {
    await expect(page.getByTestId(id)).toHaveAttribute('data-status', 'ready');
    await expect(page.getByTestId(id).locator('svg .mark-rect path').first()).toBeAttached();
  }

  // Same seed, same trajectory.
  await generate(page);
  expect(await generatedEvents(page)).toEqual(events);

  // A long run, stopped mid-stream. A whole run takes only seconds (the plain-JS decoder: 6.8 s even
  // at 6x throttling in one CI run, which the Stop click then missed): slow the page's CPU down 20x
  // (Chromium's DevTools throttling) so that the Stop click surely lands before the end.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 20 });
  await page.getByTestId('generate-count').fill('1000');
  await page.getByTestId('generate-start').click();
  await expect(page.getByTestId('generate-status')).toHaveAttribute('data-status', 'running');
  await expect.poll(() => count(page), { timeout: 60_000 }).toBeGreaterThan(0);
  await page.getByTestId('generate-stop').click();
  await expect(page.getByTestId('generate-status')).toHaveAttribute('data-status', 'stopped');
  const stoppedAt = await count(page);
  expect(stoppedAt).toBeGreaterThan(0);
  expect(stoppedAt).toBeLessThan(1000);
  await page.waitForTimeout(1500);
  expect(await count(page)).toBe(stoppedAt);
  await expect(page.getByTestId('generated-event')).toHaveCount(stoppedAt);
  await expect(page.getByTestId('generate-status')).toHaveAttribute('data-status', 'stopped');
  await expect(page.getByTestId('generate-stop')).toBeDisabled();
  await expect(page.getByTestId('generate-start')).toBeEnabled();
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
});

test('generate from a time alone, over a horizon of days', async ({ page }) => {
  await page.goto('/#generate');
  await waitForModel(page);
  await page.getByTestId('generate-source').selectOption('empty');
  await expect(page.getByTestId('generate-prefix')).toHaveAttribute('data-length', '0');
  await expect(page.getByTestId('generate-fix-start')).toBeChecked();
  await expect(page.getByTestId('generate-fix-start')).toBeDisabled();
  await page.getByTestId('generate-start-weekday').selectOption('5');
  await page.getByTestId('generate-start-slot').selectOption('3');
  await page.getByTestId('generate-mode').selectOption('horizon');
  await page.getByTestId('generate-days').fill('2');
  await page.getByTestId('generate-seed').fill('3');
  await generate(page);
  const events = await generatedEvents(page);
  expect(events.length).toBeGreaterThan(0);
  expect(events.length).toBeLessThanOrEqual(1000);
  // Starts at the chosen time; stays within two days (16 slots) of it.
  expect([events[0].weekday, events[0].slot, events[0].day]).toEqual([5, 3, 0]);
  for (const e of events) expect(e.day * 8 + e.slot - 3).toBeLessThanOrEqual(16);
  await expect(page.getByTestId('generate-timeline')).toHaveAttribute('data-status', 'ready');
  await expect(page.getByTestId('generate-timeline').locator('g.generated_marks path')).toHaveCount(events.length);
});

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string };
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };

/**
 * Serves the shipped model as an older one without a time head: the time.* weights (the last in
 * the manifest and the shard) removed, and `timeHead` off in its config.
 */
async function serveWithoutTimeHead(page: Page): Promise<void> {
  let keepBytes: number | null = null;
  await page.route('**/models/behavegpt-us/model.json', async (route: Route) => {
    const manifest = await (await route.fetch()).json();
    const weights: ManifestWeight[] = manifest.weightsManifest[0].weights;
    const kept = weights.filter((w) => !w.name.startsWith('time.'));
    keepBytes = kept.reduce(
      (s, w) => s + w.shape.reduce((a, b) => a * b, 1) * BYTES[w.quantization?.dtype ?? w.dtype],
      0,
    );
    manifest.weightsManifest[0].weights = kept;
    // An older model file: written before shard sizes and hashes were recorded.
    delete manifest.weightsManifest[0].byteLengths;
    delete manifest.weightsManifest[0].sha256;
    manifest.config = { ...manifest.config, timeHead: false };
    await route.fulfill({ json: manifest });
  });
  await page.route('**/models/behavegpt-us/weights-*.bin', async (route: Route) => {
    const body = await (await route.fetch()).body();
    await route.fulfill({
      body: keepBytes === null ? body : body.subarray(0, keepBytes),
      contentType: 'application/octet-stream',
    });
  });
}

test('a model without a time head: the view says why it cannot generate', async ({ page }) => {
  await serveWithoutTimeHead(page);
  await page.goto('/#generate');
  await waitForModel(page);
  await expect(page.getByTestId('generate-unavailable')).toContainText('no time head');
  await expect(page.getByTestId('generate-start')).toBeDisabled();
  await expect(page.getByTestId('generated-event')).toHaveCount(0);
});
