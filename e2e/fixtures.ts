/**
 * The tests' `test`: every test runs with the app's Content-Security-Policy watched. Each
 * `securitypolicyviolation` event of the page (across reloads) and each CSP refusal Chromium
 * logs (pages and workers) is collected, and a test fails if any happened. A test that provokes
 * a violation on purpose declares it with `csp.allow(pattern)`.
 */
import { expect, test as base } from '@playwright/test';

export interface CspWatch {
  violations: string[];
  /** Violations matching this pattern are provoked on purpose: they do not fail the test. */
  allow(pattern: RegExp): void;
}

export const test = base.extend<{ csp: CspWatch }>({
  csp: [
    async ({ page }, use) => {
      const allowed: RegExp[] = [];
      const watch: CspWatch = { violations: [], allow: (pattern) => void allowed.push(pattern) };
      await page.exposeFunction('__reportCspViolation', (v: string) => watch.violations.push(v));
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => {
          const report = (window as unknown as { __reportCspViolation: (v: string) => void }).__reportCspViolation;
          void report(
            `${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`,
          );
        });
      });
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) watch.violations.push(`console: ${m.text()}`);
      });
      await use(watch);
      const unexpected = watch.violations.filter((v) => !allowed.some((p) => p.test(v)));
      expect(unexpected, 'Content-Security-Policy violations').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
