import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { expect, test } from './fixtures';
import { parseBehaviorLog, splitSequences } from '../src/core/data';
import { slotLabel, weekdayLabel, type BehaviorSequence } from '../src/core/events';
import { expectRanked, readyPredictions, waitForModel } from './app-helpers';

/** The sequences the app should replay: the served SmartThings test split, else the demo file. */
async function expectedSource(request: import('@playwright/test').APIRequestContext) {
  const res = await request.get('/data/smartthings/us.csv.gz');
  if (res.ok()) {
    const log = parseBehaviorLog(new Uint8Array(gunzipSync(await res.body())), 'us.csv.gz');
    return {
      kind: 'smartthings',
      sequences: splitSequences(log.sequences, 'test').filter((s) => s.events.length >= 2),
    };
  }
  const log = parseBehaviorLog(readFileSync('public/examples/demo-sequences.csv', 'utf8'), 'demo-sequences.csv');
  return { kind: 'demo', sequences: log.sequences };
}

test('replays a test sequence: top-5 predictions and the actual event at t = 3', async ({ page, request }) => {
  const { kind, sequences } = await expectedSource(request);
  // Not the first one, so that choosing a sequence is exercised too.
  const candidates = sequences.filter((s) => s.events.length >= 6);
  const seq: BehaviorSequence = candidates[Math.min(3, candidates.length - 1)];

  await page.goto('/');
  const source = page.getByTestId('replay-source');
  await expect(source).toHaveAttribute('data-kind', kind, { timeout: 60_000 });
  await expect(source).toContainText(kind === 'smartthings' ? 'SmartThings US, test split' : 'Demo sequences');
  await expect(source).toContainText(`${sequences.length.toLocaleString('en-US')} sequences`);

  await page.getByTestId('replay-filter').fill(seq.id);
  await page.getByTestId('replay-select').selectOption(seq.id);
  const step = page.getByTestId('replay-step');
  await expect(step).toHaveAttribute('data-step', '1');
  await expect(step).toHaveAttribute('data-last', String(seq.events.length - 1));

  await waitForModel(page);
  await page.getByTestId('replay-next').click();
  await page.getByTestId('replay-next').click();
  await expect(step).toHaveAttribute('data-step', '3');
  await expect(step).toHaveText(`t = 3 of ${seq.events.length - 1}`);

  const rows = await readyPredictions(page, `${seq.id}#3`);
  expectRanked(rows);

  // Events so far are events 0..2 of the sequence, in order.
  const shown = await page
    .locator('table.events tbody tr')
    .evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.behavior));
  expect(shown).toEqual(seq.events.slice(0, 3).map((e) => e.behavior));

  const target = seq.events[3];
  await expect(page.locator('.context')).toContainText(`${weekdayLabel(target.weekday)}, ${slotLabel(target.slot)}`);
  const actual = page.getByTestId('actual-behavior');
  await expect(actual).toHaveAttribute('data-behavior', target.behavior);
  await expect(actual).toContainText(target.behavior);
  const rank = Number(await actual.getAttribute('data-rank'));
  expect(rank).toBeGreaterThanOrEqual(1);
  const inTop = rows.findIndex((r) => r.behavior === target.behavior);
  if (inTop >= 0) {
    expect(rank).toBe(inTop + 1);
    await expect(actual).toHaveAttribute('data-in-top-k', 'true');
    await expect(page.locator('.prediction-row.hit')).toHaveAttribute('data-behavior', target.behavior);
  } else {
    expect(rank).toBeGreaterThan(5);
    await expect(actual).toHaveAttribute('data-in-top-k', 'false');
    await expect(page.locator('.prediction-row.hit')).toHaveCount(0);
  }

  // The slider and the last/first buttons move through the whole sequence.
  await page.getByTestId('replay-last').click();
  await expect(step).toHaveAttribute('data-step', String(seq.events.length - 1));
  expectRanked(await readyPredictions(page, `${seq.id}#${seq.events.length - 1}`));
  await page.getByTestId('replay-slider').fill('2');
  await expect(step).toHaveAttribute('data-step', '2');
  await page.getByTestId('replay-first').click();
  await expect(step).toHaveAttribute('data-step', '1');
  await expect(page.getByTestId('replay-prev')).toBeDisabled();
  expectRanked(await readyPredictions(page, `${seq.id}#1`));
});

test('falls back to the demo sequences when the SmartThings file is not served', async ({ page }) => {
  await page.route('**/data/smartthings/us.csv.gz', (route) => route.fulfill({ status: 404, body: 'not here' }));
  await page.goto('/');
  const source = page.getByTestId('replay-source');
  await expect(source).toHaveAttribute('data-kind', 'demo', { timeout: 60_000 });
  await expect(source).toContainText('Demo sequences');
  await expect(source).toContainText('HTTP 404');
  const demo = parseBehaviorLog(readFileSync('public/examples/demo-sequences.csv', 'utf8'), 'demo-sequences.csv');
  await expect(source).toContainText(`${demo.sequences.length} sequences`);
  await waitForModel(page);
  const first = demo.sequences[0];
  const rows = await readyPredictions(page, `${first.id}#1`);
  expectRanked(rows);
  await expect(page.getByTestId('actual-behavior')).toHaveAttribute('data-behavior', first.events[1].behavior);
});
