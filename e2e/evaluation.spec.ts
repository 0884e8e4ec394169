import { existsSync, readFileSync } from 'node:fs';
import type { Locator } from '@playwright/test';
import { expect, test } from './fixtures';
import { waitForModel } from './app-helpers';

/** docs/results.json as the build bundled it (written by `npm run experiments`), when there is one. */
const RESULTS_PATH = 'docs/results.json';

interface Row {
  task: string;
  dataset: string;
  targets?: string;
  model: string;
  objective?: string;
  metrics: Record<string, number>;
}

const COLUMNS = ['weighted_recall@1', 'weighted_recall@5', 'macro_recall@1', 'macro_recall@5', 'ndcg@10', 'mrr'];

/** "41.2%" or "41.2% ± 0.3" → 41.2 (checked to be in [0, 100]); null for "–". */
function percent(text: string): number | null {
  const t = text.trim();
  if (t === '–') return null;
  const m = /^(\d+(?:\.\d+)?)%(?: ± (\d+(?:\.\d+)?))?$/.exec(t);
  expect(m, `"${t}" is not a percentage`).not.toBeNull();
  const v = Number(m![1]);
  expect(v).toBeGreaterThanOrEqual(0);
  expect(v).toBeLessThanOrEqual(100);
  return v;
}

/** A percentage shown with one decimal is `fraction` rounded. */
function expectShows(shown: number | null, fraction: number): void {
  expect(shown).not.toBeNull();
  expect(Math.abs(shown! - fraction * 100)).toBeLessThanOrEqual(0.05 + 1e-9);
}

async function optionValues(select: Locator): Promise<string[]> {
  return select.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
}

test('the Evaluation tab shows docs/results.json: rows, percentages, best values, head/tail bars', async ({
  page,
}, testInfo) => {
  await page.goto('/');
  await page.getByTestId('tab-evaluation').click();
  await expect(page.getByTestId('tab-evaluation')).toHaveAttribute('aria-selected', 'true');

  if (!existsSync(RESULTS_PATH)) {
    await expect(page.getByTestId('eval-empty')).toHaveText('No evaluation results yet — run npm run experiments.');
    await expect(page.getByTestId('eval-table')).toHaveCount(0);
    await page.screenshot({ path: testInfo.outputPath('evaluation.png'), fullPage: true });
    return;
  }

  const rows = (JSON.parse(readFileSync(RESULTS_PATH, 'utf8')) as Row[]).filter((r) => r.task === 'next-behavior');
  expect(rows.length, `${RESULTS_PATH} has no next-behavior rows`).toBeGreaterThan(0);
  const manifest = await (await page.request.get('/models/behavegpt-us/model.json')).json();
  const o = manifest.training?.objective;
  const name = typeof o === 'string' ? o : o?.name;
  const shipped = name === 'cross-entropy' ? 'ce' : typeof name === 'string' ? name : 'dro';
  await waitForModel(page);
  // The view is a lazy chunk: wait for it before reading its options once.
  await expect(page.getByTestId('eval-table')).toBeVisible();

  const datasetSelect = page.getByTestId('eval-dataset');
  const targetsSelect = page.getByTestId('eval-targets');
  const datasets = [...new Set(rows.map((r) => r.dataset))];
  expect((await optionValues(datasetSelect)).sort()).toEqual([...datasets].sort());

  let checked = 0;
  for (const dataset of datasets) {
    await datasetSelect.selectOption(dataset);
    const sets = ['all', 'no-refresh'].filter((t) =>
      rows.some((r) => r.dataset === dataset && (r.targets ?? 'all') === t),
    );
    expect(await optionValues(targetsSelect)).toEqual(sets);
    for (const targets of sets) {
      await targetsSelect.selectOption(targets);
      const table = page.getByTestId('eval-table');
      await expect(table).toHaveAttribute('data-dataset', dataset);
      await expect(table).toHaveAttribute('data-targets', targets);
      const expected = rows.filter((r) => r.dataset === dataset && (r.targets ?? 'all') === targets);
      const shown = table.getByTestId('eval-row');
      await expect(shown).toHaveCount(expected.length);
      expect(await shown.evaluateAll((rs) => rs.map((r) => (r as HTMLElement).dataset.model))).toEqual(
        expected.map((r) => r.model),
      );

      // Every cell: a percentage in [0, 100] matching the file's mean, and the best of its column in bold.
      for (const key of COLUMNS) {
        const cells = table.locator(`td[data-metric="${key}"]`);
        const texts = await cells.allInnerTexts();
        const best = await cells.evaluateAll((cs) => cs.map((c) => (c as HTMLElement).dataset.best === 'true'));
        const values = expected.map((r) => r.metrics[key]);
        const max = Math.max(...values.filter((v) => typeof v === 'number'));
        texts.forEach((text, i) => {
          const v = percent(text);
          if (values[i] === undefined) return expect(v).toBeNull();
          expectShows(v, values[i]);
          expect(best[i]).toBe(values[i] === max);
          checked++;
        });
      }

      const marked = await shown.evaluateAll((rs) =>
        rs.filter((r) => (r as HTMLElement).dataset.shipped === 'true').map((r) => (r as HTMLElement).dataset.model),
      );
      expect(marked).toEqual(
        expected.filter((r) => r.objective === shipped && !r.model.startsWith('Context-free')).map((r) => r.model),
      );

      // Head/tail bars: one head and one tail bar per row that has both, values in [0, 1], labelled as percentages.
      const headtail = page.getByTestId('eval-headtail');
      await expect(headtail).toContainText('80% of training events');
      const withBoth = expected.filter(
        (r) => r.metrics['head_recall@5'] !== undefined && r.metrics['tail_recall@5'] !== undefined,
      );
      await expect(headtail.getByTestId('eval-headtail-row')).toHaveCount(withBoth.length);
      const bars = await headtail.getByTestId('eval-bar').evaluateAll((bs) =>
        bs.map((b) => ({
          kind: (b as HTMLElement).dataset.kind,
          value: Number((b as HTMLElement).dataset.value),
          label: b.querySelector('.ht-value')?.textContent ?? '',
        })),
      );
      expect(bars).toHaveLength(2 * withBoth.length);
      bars.forEach((b, i) => {
        const row = withBoth[Math.floor(i / 2)];
        expect(b.kind).toBe(i % 2 === 0 ? 'head' : 'tail');
        expect(b.value).toBe(row.metrics[`${b.kind}_recall@5`]);
        expect(b.value).toBeGreaterThanOrEqual(0);
        expect(b.value).toBeLessThanOrEqual(1);
        expectShows(percent(b.label.replace(/^(head|tail) /, '')), b.value);
      });
      if (dataset === datasets[0] && targets === 'all')
        await page.screenshot({ path: testInfo.outputPath('evaluation.png'), fullPage: true });
    }
  }
  expect(checked).toBeGreaterThan(0);
});
