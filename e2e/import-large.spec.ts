/**
 * Big and hostile imports: parsing runs in a worker, so a 200 MB log neither crashes the tab nor
 * freezes the page (the longest main-thread task during the import is measured with the Long
 * Tasks API; target < 200 ms), and a file of minimal rows stops at the event limit with a clear
 * error. Also the smaller import faults: a fake gzip file is named, epoch milliseconds read as
 * seconds are warned about and read again in the chosen unit. The figures go to
 * $RELIABILITY_OUT/reliability-import.json (test-results/ by default; read by npm run reliability).
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import type { Page } from '@playwright/test';
import { gunzipSync } from 'node:zlib';
import { DEFAULT_DATA_DIR } from '../src/node/config';
import { waitForModel } from './app-helpers';
import { expect, test } from './fixtures';

const MB = 1024 * 1024;

/** Behaviors of the SmartThings US file: realistic names and lengths (made-up ones without the data folder). */
function behaviorNames(): string[] {
  const file = join(DEFAULT_DATA_DIR, 'us.csv.gz');
  if (!existsSync(file)) return Array.from({ length: 120 }, (_, i) => `Device${i % 30}:command ${i} on`);
  const text = gunzipSync(readFileSync(file)).toString('utf8');
  const names = new Set<string>();
  for (const line of text.split('\n').slice(1, 50_000)) {
    const b = line.split(',')[4];
    if (b) names.add(b);
  }
  return [...names];
}

/** Writes a canonical log of about `bytes` bytes (sequences of 40 events); returns its event count. */
async function writeLog(path: string, bytes: number): Promise<{ events: number; sequences: number }> {
  const names = behaviorNames();
  const out = createWriteStream(path);
  out.write('sequence_id,step,weekday,time_slot,behavior\n');
  let written = 0;
  let events = 0;
  let s = 0;
  while (written < bytes) {
    const rows: string[] = [];
    for (let k = 0; k < 500; k++, s++) {
      for (let t = 0; t < 40; t++)
        rows.push(
          `home-${s},${t},${(s + (t >> 3)) % 7},${(t * 3 + s) % 8},${names[(s * 31 + t * 7) % names.length]}\n`,
        );
    }
    const chunk = rows.join('');
    written += Buffer.byteLength(chunk);
    events += rows.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { events, sequences: s };
}

/** Starts recording main-thread long tasks (and the longest gap between 10 ms timer ticks) in the page. */
async function watchMainThread(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __longest: number; __gap: number; __tasks: number };
    w.__longest = 0;
    w.__gap = 0;
    w.__tasks = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        w.__tasks++;
        w.__longest = Math.max(w.__longest, e.duration);
      }
    }).observe({ type: 'longtask' });
    let last = performance.now();
    setInterval(() => {
      const now = performance.now();
      w.__gap = Math.max(w.__gap, now - last);
      last = now;
    }, 10);
  });
}

function mainThread(page: Page): Promise<{ longestTaskMs: number; longTasks: number; longestTimerGapMs: number }> {
  return page.evaluate(() => {
    const w = window as unknown as { __longest: number; __gap: number; __tasks: number };
    return { longestTaskMs: Math.round(w.__longest), longTasks: w.__tasks, longestTimerGapMs: Math.round(w.__gap) };
  });
}

function record(name: string, figures: object): void {
  const dir = process.env.RELIABILITY_OUT ?? 'test-results';
  mkdirSync(dir, { recursive: true });
  const path = `${dir}/reliability-import.json`;
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    // first figure of this run
  }
  writeFileSync(path, JSON.stringify({ ...all, [name]: figures }, null, 1));
}

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name !== 'webgpu-unavailable', 'importing does not depend on the backend: checked once');
});

test('a 200 MB log imports in a worker: the tab survives, the page stays responsive, progress is shown', async ({
  page,
}, testInfo) => {
  test.setTimeout(600_000);
  const path = testInfo.outputPath('big.csv');
  const { events, sequences } = await writeLog(path, 200 * MB);
  await page.goto('/#finetune');
  await waitForModel(page);
  await watchMainThread(page);
  let crashed = false;
  page.on('crash', () => (crashed = true));
  const t0 = Date.now();
  await page.getByTestId('finetune-file').setInputFiles(path);
  await expect(page.getByTestId('finetune-import-progress')).toBeVisible({ timeout: 60_000 });
  // The page answers while the worker parses: a section switch and back.
  await page.getByTestId('section-predict').click();
  await expect(page.getByTestId('section-predict')).toHaveAttribute('aria-selected', 'true');
  await page.getByTestId('tab-finetune').click();
  await expect(page.getByTestId('finetune-events')).toHaveText(events.toLocaleString('en-US'), { timeout: 480_000 });
  const seconds = (Date.now() - t0) / 1000;
  await expect(page.getByTestId('finetune-sequences')).toHaveText(sequences.toLocaleString('en-US'));
  await expect(page.getByTestId('finetune-split-train')).toBeVisible();
  const figures = { bytes: 200 * MB, events, sequences, seconds: Math.round(seconds), ...(await mainThread(page)) };
  testInfo.annotations.push({ type: '200 MB import', description: JSON.stringify(figures) });
  record('import200MB', figures);
  expect(crashed).toBe(false);
  expect(figures.longestTaskMs).toBeLessThan(200);
});

test('a file of minimal rows stops at the event limit with a clear error, and the tab survives', async ({
  page,
}, testInfo) => {
  test.setTimeout(600_000);
  const path = testInfo.outputPath('minimal.csv');
  // One long sequence of the shortest rows: ~14 bytes each, 10 M events at ~150 MB.
  const out = createWriteStream(path);
  out.write('sequence_id,step,weekday,time_slot,behavior\n');
  for (let block = 0; block < 120; block++) {
    const rows: string[] = [];
    for (let k = 0; k < 100_000; k++) {
      const step = block * 100_000 + k;
      rows.push(`a,${step},${step % 7},${step % 8},b\n`);
    }
    if (!out.write(rows.join(''))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  await page.goto('/#finetune');
  await waitForModel(page);
  await watchMainThread(page);
  let crashed = false;
  page.on('crash', () => (crashed = true));
  await page.getByTestId('finetune-file').setInputFiles(path);
  await expect(page.getByTestId('finetune-import-error')).toContainText(
    'minimal.csv: line 10000002: more than 10,000,000 events, the limit of one import',
    { timeout: 480_000 },
  );
  const figures = await mainThread(page);
  record('minimalRows', { rows: 12_000_000, ...figures });
  expect(crashed).toBe(false);
  expect(figures.longestTaskMs).toBeLessThan(200);
});

test('a fake gzip file is refused with its name; epoch milliseconds read as seconds are warned about and read again as milliseconds', async ({
  page,
}, testInfo) => {
  await page.goto('/#finetune');
  await waitForModel(page);
  const fake = testInfo.outputPath('export.csv.gz');
  writeFileSync(fake, Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
  await page.getByTestId('finetune-file').setInputFiles(fake);
  await expect(page.getByTestId('finetune-import-error')).toContainText(
    'export.csv.gz: not a valid gzip file: it could not be decompressed',
  );

  const ms = testInfo.outputPath('ms.csv');
  const rows = ['user_id,timestamp,behavior'];
  for (let u = 0; u < 4; u++)
    for (let i = 0; i < 6; i++)
      rows.push(`u${u},${1_700_000_000_000 + (u * 6 + i) * 3_600_000},${i % 2 ? 'Light:switch on' : 'Fan:switch on'}`);
  writeFileSync(ms, `${rows.join('\n')}\n`);
  await page.getByTestId('finetune-file').setInputFiles(ms);
  // Read as seconds, these milliseconds are dates far beyond 2100: refused, with the hint to switch the unit.
  await expect(page.getByTestId('finetune-import-error')).toContainText(
    'if it is in milliseconds, choose milliseconds as the unit',
  );
  await page.getByTestId('finetune-epoch-unit').selectOption('milliseconds');
  await expect(page.getByTestId('finetune-events')).toHaveText('24');
  await expect(page.getByTestId('finetune-warnings')).toHaveCount(0);

  // Seconds read as milliseconds: dates in 1970, accepted with a warning naming the unit.
  const seconds = testInfo.outputPath('s.csv');
  writeFileSync(seconds, `${rows.map((r, i) => (i === 0 ? r : r.replace(/,(\d+)000,/, ',$1,'))).join('\n')}\n`);
  await page.getByTestId('finetune-file').setInputFiles(seconds);
  await expect(page.getByTestId('finetune-warnings')).toContainText(
    '24 epoch timestamps read as milliseconds fall outside 1990–2100',
  );
  await page.getByTestId('finetune-epoch-unit').selectOption('seconds');
  await expect(page.getByTestId('finetune-warnings')).toHaveCount(0);
  await expect(page.getByTestId('finetune-events')).toHaveText('24');
});
