/**
 * The evidence runs (`npm run own-data -- --phase evidence`): the app itself, built and served
 * with `vite preview`, driven in Debian's Chromium as a person would use it on a stand-in log:
 * open Fine-tune, import the file, tick "Also train ... from scratch", set the seed (0, 1, 2),
 * Start, wait. No other setting is touched; the driver checks that every one shows its default.
 * Reads the held-out figures of every model from the comparison table, the epochs and why each
 * arm stopped, the app's own wall time and the driver's (click → adapted model ready), and the
 * load average around each run (the machine is shared). One JSON record per run (committed),
 * a rerun skips runs that have one. Here, not in src/experiments/own-data/, because it drives
 * Chromium and vite (Node-side packages).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Page } from '@playwright/test';
import { build, preview } from 'vite';
import type { MetricSet } from '../core/metrics';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium';
import { DEFAULT_FINETUNE_SETTINGS } from '../train/finetune-protocol';

export const EVIDENCE_RECORDS_DIR = 'results/own-data/evidence';
/** The stand-ins of the evidence (all three parts; held out = their test split). */
export const EVIDENCE_LOGS = ['vendor-fr', 'vendor-sp'] as const;
export const EVIDENCE_SEEDS = [0, 1, 2] as const;
/** The comparison table's columns, as the app names them (data-testid prefixes). */
export const COLUMNS = {
  adapted: 'after',
  base: 'before',
  'markov-2': 'markov',
  popularity: 'popularity',
  scratch: 'scratch',
} as const;
export type Column = keyof typeof COLUMNS;
const METRICS = ['weighted_recall@1', 'weighted_recall@5', 'macro_recall@1', 'macro_recall@5'] as const;

interface ArmFigures {
  epochs: number;
  bestEpoch: number;
  steps: number;
  trainSeconds: number;
  stop: string;
}

export interface EvidenceRecord {
  id: string;
  log: string;
  seed: number;
  backend: string;
  /** Held-out (test split) figures of each model. */
  heldOut: Record<Column, MetricSet>;
  heldOutTargets: number;
  adapted: ArmFigures & { appWallSeconds: number; driverWallSeconds: number };
  scratch: ArmFigures;
  /** Seconds from Start to the end of the from-scratch arm (driver). */
  totalSeconds: number;
  settingsShown: Record<string, string>;
  loadAverage: { start: number[]; end: number[] };
  date: string;
  commit: string;
}

export const evidenceId = (log: string, seed: number) => `${log}-s${seed}`;

export function readEvidence(dir: string, log: string, seed: number): EvidenceRecord | null {
  const path = join(dir, `${evidenceId(log, seed)}.json`);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as EvidenceRecord) : null;
}

/** What the form shows before Start, checked against the defaults: nothing was touched but the seed and the from-scratch box. */
async function settingsShown(page: Page): Promise<Record<string, string>> {
  const value = (id: string) => page.getByTestId(id).inputValue();
  const shown = {
    learningRate: await value('finetune-lr'),
    maxEpochs: await value('finetune-epochs'),
    minSteps: await value('finetune-min-steps'),
    patience: await value('finetune-patience'),
    objective: await value('finetune-objective'),
    trainable: await value('finetune-trainable'),
  };
  const d = DEFAULT_FINETUNE_SETTINGS;
  const expected = {
    learningRate: String(d.learningRate),
    maxEpochs: String(d.maxEpochs),
    minSteps: String(d.schedule.minSteps),
    patience: String(d.patience),
    objective: d.objective,
    trainable: d.trainable,
  };
  for (const [k, v] of Object.entries(expected)) {
    if (shown[k as keyof typeof shown] !== v)
      throw new Error(`the form shows ${k} = ${shown[k as keyof typeof shown]}, not the default ${v}`);
  }
  return shown;
}

async function armFigures(page: Page, testId: string): Promise<ArmFigures> {
  const el = page.getByTestId(testId);
  const n = async (attr: string) => Number(await el.getAttribute(attr));
  return {
    epochs: await n('data-epochs'),
    bestEpoch: await n('data-best-epoch'),
    steps: await n('data-steps'),
    trainSeconds: await n('data-train-seconds'),
    stop: (await el.getAttribute('data-stop')) ?? '',
  };
}

export interface EvidenceOptions {
  dataDir: string;
  recordsDir: string;
  port: number;
  commit: string;
  log: (line: string) => void;
  logs?: readonly string[];
  seeds?: readonly number[];
}

export async function runEvidence(o: EvidenceOptions): Promise<void> {
  const todo = (o.logs ?? EVIDENCE_LOGS)
    .flatMap((log) => (o.seeds ?? EVIDENCE_SEEDS).map((seed) => ({ log, seed })))
    .filter((r) => !readEvidence(o.recordsDir, r.log, r.seed));
  if (todo.length === 0) return o.log('evidence: every run has its record');
  await build({ logLevel: 'warn' });
  const server = await preview({ preview: { port: o.port, strictPort: true, host: '127.0.0.1' }, logLevel: 'warn' });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    for (const { log, seed } of todo) {
      const file = resolve(o.dataDir, `${log}.csv`);
      if (!existsSync(file)) throw new Error(`${file}: no such stand-in (run --phase standins first)`);
      // A fresh context: empty IndexedDB and caches, as a first visit.
      const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      const page = await context.newPage();
      try {
        await page.goto(`http://127.0.0.1:${o.port}/#finetune`);
        await page.locator('[data-testid=model-status][data-status=ready]').waitFor({ timeout: 300_000 });
        const backend = (await page.getByTestId('backend-name').innerText()).trim();
        await page.getByTestId('finetune-file').setInputFiles(file);
        await page.getByTestId('finetune-summary').waitFor();
        if (seed !== DEFAULT_FINETUNE_SETTINGS.seed) await page.getByTestId('finetune-seed').fill(String(seed));
        await page.getByTestId('finetune-scratch').check();
        const shown = await settingsShown(page);
        const start = loadavg();
        o.log(`evidence ${evidenceId(log, seed)}: start (load ${start.map((x) => x.toFixed(1)).join(' ')})`);
        const t0 = performance.now();
        await page.getByTestId('finetune-start').click();
        await page.getByTestId('finetune-wall-time').waitFor({ timeout: 3_600_000 });
        const driverWallSeconds = (performance.now() - t0) / 1000;
        await page.locator('[data-testid=finetune-status][data-status=done]').waitFor({ timeout: 3_600_000 });
        const totalSeconds = (performance.now() - t0) / 1000;
        const heldOut = {} as Record<Column, MetricSet>;
        for (const [column, prefix] of Object.entries(COLUMNS) as [Column, string][]) {
          heldOut[column] = {};
          for (const m of METRICS)
            heldOut[column][m] = Number(await page.getByTestId(`${prefix}-${m}`).getAttribute('data-value'));
        }
        const caption = await page.getByTestId('finetune-results').locator('caption').innerText();
        const wall = page.getByTestId('finetune-wall-time');
        const record: EvidenceRecord = {
          id: evidenceId(log, seed),
          log,
          seed,
          backend,
          heldOut,
          heldOutTargets: Number(/\(([\d,]+) predicted events\)/.exec(caption)?.[1].replace(/,/g, '') ?? NaN),
          adapted: {
            ...(await armFigures(page, 'finetune-wall-time')),
            appWallSeconds: Number(await wall.getAttribute('data-wall-seconds')),
            driverWallSeconds,
          },
          scratch: await armFigures(page, 'finetune-scratch-summary'),
          totalSeconds,
          settingsShown: shown,
          loadAverage: { start, end: loadavg() },
          date: new Date().toISOString(),
          commit: o.commit,
        };
        mkdirSync(o.recordsDir, { recursive: true });
        const path = join(o.recordsDir, `${record.id}.json`);
        writeFileSync(`${path}.tmp`, `${JSON.stringify(record, null, 1)}\n`);
        renameSync(`${path}.tmp`, path);
        o.log(
          `evidence ${record.id}: adapted ready after ${driverWallSeconds.toFixed(0)} s (${record.adapted.epochs} epochs, kept ${record.adapted.bestEpoch}, ${record.adapted.stop}); all done after ${totalSeconds.toFixed(0)} s`,
        );
      } finally {
        await context.close();
      }
    }
  } finally {
    await browser.close();
    await new Promise<void>((done) => server.httpServer.close(() => done()));
  }
}
