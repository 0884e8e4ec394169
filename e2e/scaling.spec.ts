import { existsSync, readFileSync } from 'node:fs';
import { expect, test } from './fixtures';

/** docs/scaling.json as the build bundled it (written by `npm run scaling -- --phase report`), when there is one. */
const REPORT_PATH = 'docs/scaling.json';
const HAS_REPORT = existsSync(REPORT_PATH);

interface Report {
  cells: unknown[];
  law: { alpha: number; beta: number; r2: number; intervals: { alpha: { low: number; high: number } } };
  shipped?: { name: string };
}

test('the Scaling tab explains how to create the report when docs/scaling.json is absent', async ({ page }) => {
  test.skip(HAS_REPORT, `${REPORT_PATH} exists: the charts test covers the tab`);
  await page.goto('/');
  await page.getByTestId('tab-scaling').click();
  await expect(page.getByTestId('tab-scaling')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('scaling-empty')).toContainText('No scaling-law report yet');
  await expect(page.getByTestId('scaling-empty')).toContainText('npm run scaling');
  await expect(page.locator('.vega-chart')).toHaveCount(0);
});

test('the Scaling tab shows the fitted law, both log-log charts with tooltips, and the shipped model', async ({
  page,
}, testInfo) => {
  test.skip(!HAS_REPORT, `no ${REPORT_PATH} (run npm run scaling)`);
  const report = JSON.parse(readFileSync(REPORT_PATH, 'utf8')) as Report;
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await page.goto('/#scaling');
  await expect(page.getByTestId('tab-scaling')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('scaling-empty')).toHaveCount(0);

  const law = page.getByTestId('scaling-law');
  await expect(law).toContainText('α');
  await expect(page.getByTestId('scaling-formula')).toContainText('L(N, D) =');
  await expect(page.getByTestId('scaling-formula')).toContainText(report.law.alpha.toFixed(3));
  await expect(page.getByTestId('scaling-alpha')).toHaveText(
    new RegExp(`^${report.law.alpha.toFixed(3)} \\[${report.law.intervals.alpha.low.toFixed(3)}, `),
  );
  await expect(page.getByTestId('scaling-r2')).toHaveText(report.law.r2.toFixed(4));

  for (const id of ['scaling-params', 'scaling-data']) {
    const chart = page.locator(`[data-testid=${id}][data-status=ready]`);
    await expect(chart).toHaveCount(1);
    await expect(chart.locator('svg.marks')).toHaveCount(1);
    // One symbol per grid cell (the cells layer), plus a diamond for the shipped model.
    await expect(chart.locator('g.mark-symbol.layer_1_marks path')).toHaveCount(report.cells.length);
    await expect(chart.locator('g.mark-line path').first()).toBeVisible();
    if (report.shipped)
      await expect(chart.locator('g.mark-text text', { hasText: `shipped: ${report.shipped.name}` })).toHaveCount(1);
  }

  // Hover a cell: the tooltip shows its numbers.
  await page.getByTestId('scaling-params').locator('g.mark-symbol.layer_1_marks path').first().hover({ force: true });
  const tooltip = page.locator('#vg-tooltip-element');
  await expect(tooltip).toBeVisible();
  await expect(tooltip).toContainText('test loss');
  await expect(tooltip).toContainText('N (non-embedding parameters)');
  await expect(tooltip).toContainText('weighted recall@5');

  if (report.shipped) await expect(page.getByTestId('scaling-shipped')).toContainText(report.shipped.name);
  else await expect(page.getByTestId('scaling-shipped')).toHaveCount(0);
  await page.screenshot({ path: testInfo.outputPath('scaling.png'), fullPage: true });

  // Leaving the tab disposes the charts; coming back draws them again.
  await page.getByTestId('tab-evaluation').click();
  await expect(page.locator('.vega-chart')).toHaveCount(0);
  await page.getByTestId('tab-scaling').click();
  await expect(page.locator('.vega-chart[data-status=ready] svg.marks')).toHaveCount(2);
  expect(errors).toEqual([]);
});
