/**
 * Measures the explanations (docs/EXPLAIN.md): the deletion test of occlusion and attention
 * against random and most-recent events, and the week check of the "when" heatmaps against the
 * data. On the test split with the default removal it writes the "explain" rows of
 * docs/results.json and the generated section of docs/EXPLAIN.md; other runs only print.
 *
 *   npm run explain-eval                               # US test: deletion test and week check
 *   npm run explain-eval -- --phase choose             # the removal choice, on US valid
 *   npm run explain-eval -- --split valid --removal unknown --phase deletion
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fitTimePopularity } from '../core/baselines';
import { REGIONS, type Region } from '../core/data';
import { DEFAULT_REMOVAL, REMOVALS, type Removal } from '../core/explain';
import { EXPLAIN_TASK, explainMarkdown, explainRows, type DeletionSummary } from '../core/explain-report';
import { mergeRows, parseResults } from '../core/results';
import { Explainer } from '../model/explain';
import { DEFAULT_DATA_DIR, gitCommit, SHIPPED_MODEL_DIR } from '../node/config';
import { loadSplits } from '../node/data';
import { formatDuration } from '../node/log';
import { loadModelDir } from '../node/model-files';
import { writeSection } from '../node/report-sections';
import { initNodeBackend } from '../node/tf';
import { deletionTest, mostFrequent, removalLikelihood, summarizeDeletion, weekCheck, weekTotals } from '../train/explain-eval';
import { numberFlag, parseFlags } from './args';

const USAGE = `Usage: npm run explain-eval -- [--phase all|deletion|week|choose] [--split test|valid] [--removal drop|unknown]
                            [--model DIR] [--dataset us] [--limit N] [--resamples N] [--data DIR]
  --phase choose   the removal choice on valid: log-probability of the true next event with one random event removed
  --limit N        only the first N positions (quick checks; nothing is written)`;
const flags = parseFlags(
  {
    phase: { type: 'string' },
    split: { type: 'string' },
    removal: { type: 'string' },
    model: { type: 'string' },
    dataset: { type: 'string' },
    limit: { type: 'string' },
    resamples: { type: 'string' },
    data: { type: 'string' },
  },
  USAGE,
);
const PHASES = ['all', 'deletion', 'week', 'choose'] as const;
const phase = (flags.phase ?? 'all') as (typeof PHASES)[number];
if (!PHASES.includes(phase)) throw new Error(`--phase: "${phase}" is not one of ${PHASES.join(', ')}`);
const split = flags.split ?? (phase === 'choose' ? 'valid' : 'test');
if (split !== 'test' && split !== 'valid') throw new Error(`--split: "${split}" is not test or valid`);
if (phase === 'choose' && split !== 'valid') throw new Error('--phase choose reads the valid split only (choices are never made on test)');
const removal = (flags.removal ?? DEFAULT_REMOVAL) as Removal;
if (!REMOVALS.includes(removal)) throw new Error(`--removal: "${removal}" is not one of ${REMOVALS.join(', ')}`);
const dataset = (flags.dataset ?? 'us') as Region;
if (!REGIONS.includes(dataset)) throw new Error(`--dataset: "${dataset}" is not one of ${REGIONS.join(', ')}`);
const limit = flags.limit === undefined ? undefined : numberFlag(flags.limit, 'limit', 0);
const modelDir = flags.model ?? SHIPPED_MODEL_DIR;
const KS = [1, 2, 3];
const TOP_BEHAVIORS = 20;
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

await initNodeBackend('wasm');
const loaded = loadModelDir(modelDir);
const { train, valid, test } = loadSplits(dataset, flags.data ?? DEFAULT_DATA_DIR);
const sequences = split === 'test' ? test : valid;
const explainer = await Explainer.create(loaded);
const started = performance.now();
const elapsed = () => formatDuration((performance.now() - started) / 1000);

if (phase === 'choose') {
  const r = removalLikelihood(explainer, limit ? sequences.slice(0, limit) : sequences, loaded.behaviors, REMOVALS);
  log(`${dataset} valid, ${r.positions} positions: mean log-probability of the true next event`);
  console.log(`  whole history          ${r.full.toFixed(4)}`);
  for (const k of REMOVALS) console.log(`  one random event ${k.padEnd(8)} ${r.removed[k].toFixed(4)}`);
  const best = REMOVALS.reduce((a, b) => (r.removed[b] > r.removed[a] ? b : a));
  console.log(`choice: ${best} (the default in src/core/explain.ts is ${DEFAULT_REMOVAL})`);
  process.exit(0);
}

let deletion: DeletionSummary | null = null;
if (phase === 'all' || phase === 'deletion') {
  log(`deletion test on ${dataset} ${split}, removal ${removal}, k = ${KS.join(', ')}`);
  const result = deletionTest(explainer, sequences, loaded.behaviors, { ks: KS, removal, limit });
  log(`${result.positions} positions of ${result.sequences} sequences in ${elapsed()}`);
  const summary = summarizeDeletion(result, { resamples: numberFlag(flags.resamples, 'resamples', 1000) });
  deletion = { ...result, ...summary };
  for (const f of summary.figures) {
    console.log(
      `  ${f.target.padEnd(9)} ${f.method.padEnd(9)} k=${f.k}  fall ${(100 * f.drop.estimate).toFixed(2)} pp [${(100 * f.drop.low).toFixed(2)}, ${(100 * f.drop.high).toFixed(2)}]  top-1 change ${(100 * f.changed.estimate).toFixed(1)}%`,
    );
  }
  for (const c of summary.comparisons) console.log(`  ${c.target.padEnd(9)} k=${c.k}  ${c.name.padEnd(22)} ${(100 * c.drop.estimate).toFixed(2)} pp [${(100 * c.drop.low).toFixed(2)}, ${(100 * c.drop.high).toFixed(2)}]`);
}

let week: { positions: number; rows: ReturnType<typeof weekCheck> } | null = null;
if (phase === 'all' || phase === 'week') {
  log(`week check on ${dataset} ${split}: heatmaps of every position`);
  const totals = weekTotals(explainer, sequences, loaded.behaviors, limit);
  const rows = weekCheck(totals, loaded.behaviors, mostFrequent(loaded.behaviors, TOP_BEHAVIORS), train, fitTimePopularity(train, loaded.behaviors));
  week = { positions: totals.positions, rows };
  log(`${totals.positions} positions in ${elapsed()}`);
  const mean = (f: (r: (typeof rows)[number]) => number) => (rows.reduce((s, r) => s + f(r), 0) / rows.length).toFixed(4);
  console.log(`  heatmap JSD (bits), mean of ${rows.length}: model ${mean((r) => r.heatmap.model)}, time-popularity ${mean((r) => r.heatmap.timePopularity)}, context-free ${mean((r) => r.heatmap.contextFree)}`);
  console.log(`  joint JSD (bits),   mean of ${rows.length}: model ${mean((r) => r.joint.model)}, train cells ${mean((r) => r.joint.trainCells)}, context-free ${mean((r) => r.joint.contextFree)}`);
}

const writes = phase === 'all' && split === 'test' && removal === DEFAULT_REMOVAL && limit === undefined;
if (writes && deletion && week) {
  const input = { model: loaded.manifest.name, dataset, split, deletion, week };
  const resultsPath = 'docs/results.json';
  const existing = existsSync(resultsPath) ? parseResults(JSON.parse(readFileSync(resultsPath, 'utf8')), resultsPath) : [];
  writeFileSync(resultsPath, `${JSON.stringify(mergeRows(existing, EXPLAIN_TASK, explainRows(input)), null, 1)}\n`);
  writeSection('docs/EXPLAIN.md', 'explain-eval', explainMarkdown(input, { commit: gitCommit(), date: new Date().toISOString(), command: 'npm run explain-eval' }));
  log('wrote the "explain" rows of docs/results.json and the measured section of docs/EXPLAIN.md');
} else log('nothing written (only a full run on test with the default removal writes the report)');
loaded.model.dispose();
