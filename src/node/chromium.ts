/**
 * Debian's Chromium and the flags it needs on a closed-network machine running as root: the
 * browser tests (playwright.config.ts) and the browser benchmark (bench/browser.ts) launch it.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
