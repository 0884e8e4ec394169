/**
 * The reliability report: mutation fuzzing of the import parser on real data, corrupted model
 * files against the load checks, and (unless --no-browser) the browser fault-injection suite
 * with its measured figures. Writes docs/RELIABILITY.md and docs/reliability.json. Design:
 * src/reliability/.
 *
 *   npm run reliability [-- --cases 3000 --no-browser]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DATA_DIR, gitCommit, RELIABILITY_JSON, RELIABILITY_MD, SHIPPED_MODEL_DIR } from '../node/config';
import { log } from '../node/log';
import { runBrowserChecks } from '../reliability/browser';
import { runModelCampaign } from '../reliability/model-campaign';
import { runParserCampaign } from '../reliability/parser-campaign';
import { renderReliability, type ReliabilityFigures } from '../reliability/report';
import { numberFlag, parseFlags, runIfMain } from './args';

const USAGE = `Usage: npm run reliability -- [--cases N] [--no-browser] [--data DIR]
  --cases N       cases per Node campaign (default 3000)
  --no-browser    skip the Playwright suite and keep the browser figures already in ${RELIABILITY_JSON}`;

/** Where the browser specs write their figures during the run (ignored by git). */
const FIGURES_DIR = 'runs/reliability';

export async function main(args?: string[]): Promise<void> {
  const flags = parseFlags(
    { cases: { type: 'string' }, 'no-browser': { type: 'boolean' }, data: { type: 'string' } },
    USAGE,
    args,
  );
  const cases = numberFlag(flags.cases, 'cases', 3000);
  const start = loadavg()[0];
  log(`import parser: ${cases} damaged logs`);
  const parser = runParserCampaign(readFileSync(join(flags.data ?? DEFAULT_DATA_DIR, 'sp.csv.gz')), {
    cases,
    rows: 400,
    seed: 14,
  });
  log(`model files: ${cases} damaged models`);
  const model = await runModelCampaign(
    {
      manifestText: readFileSync(join(SHIPPED_MODEL_DIR, 'model.json'), 'utf8'),
      shard: new Uint8Array(readFileSync(join(SHIPPED_MODEL_DIR, 'weights-shard1of1.bin'))),
    },
    { cases, seed: 14, source: SHIPPED_MODEL_DIR },
  );
  let browser: ReliabilityFigures['browser'] = null;
  if (flags['no-browser']) {
    if (existsSync(RELIABILITY_JSON))
      browser = (JSON.parse(readFileSync(RELIABILITY_JSON, 'utf8')) as ReliabilityFigures).browser;
  } else {
    log('browser fault injection (playwright; builds and serves the app)');
    browser = { ...runBrowserChecks(FIGURES_DIR), commit: gitCommit(), date: new Date().toISOString() };
  }
  const figures: ReliabilityFigures = {
    commit: gitCommit(),
    date: new Date().toISOString(),
    load: { start, end: loadavg()[0] },
    parser,
    model,
    browser,
  };
  writeFileSync(RELIABILITY_JSON, `${JSON.stringify(figures, null, 1)}\n`);
  writeFileSync(RELIABILITY_MD, renderReliability(figures));
  log(`wrote ${RELIABILITY_MD} and ${RELIABILITY_JSON}`);
  const failures = [parser, model].flatMap((c) => Object.values(c.byKind)).reduce((n, k) => n + k.failures, 0);
  const browserFailed = browser?.cases.filter((c) => c.status !== 'passed' && c.status !== 'skipped').length ?? 0;
  if (failures + browserFailed > 0) {
    console.error(`${failures} campaign failures, ${browserFailed} browser cases failed: see ${RELIABILITY_MD}`);
    process.exitCode = 1;
  }
}

runIfMain(import.meta.url, main);
