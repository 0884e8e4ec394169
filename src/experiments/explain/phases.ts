/**
 * `npm run explain-eval`: the removal choice on valid, the deletion test and the week check on a
 * split, and the report (written only from a full test run with the default removal). Node.
 */
import { fitTimePopularity } from '../../core/baselines';
import type { Region } from '../../core/data';
import { DEFAULT_REMOVAL, REMOVALS, type Removal } from '../../core/explain';
import { Explainer } from '../../model/explain';
import { RESULTS_JSON } from '../../node/config';
import { loadSplits } from '../../node/data';
import { formatDuration } from '../../core/format';
import { loadModelDir } from '../../node/model-files';
import { writeSection } from '../../node/report-sections';
import { writeResultRows } from '../../node/results-file';
import { deletionTest, mostFrequent, removalLikelihood, summarizeDeletion, weekCheck, weekTotals } from './measure';
import { EXPLAIN_TASK, explainMarkdown, explainRows, type DeletionSummary, type WeekSummaryRow } from './report';

export const EXPLAIN_PHASES = ['all', 'deletion', 'week', 'choose'] as const;
export type ExplainPhase = (typeof EXPLAIN_PHASES)[number];
export const EXPLAIN_MD = 'docs/EXPLAIN.md';
/** Events removed by each method in the deletion test. */
export const DELETION_KS = [1, 2, 3];
/** The behaviors of the week check: the most frequent in train. */
export const WEEK_BEHAVIORS = 20;

export interface ExplainEvalOptions {
  phase: ExplainPhase;
  split: 'valid' | 'test';
  removal: Removal;
  dataset: Region;
  modelDir: string;
  dataDir: string;
  /** Only the first N positions (quick checks; nothing is written). */
  limit?: number;
  resamples: number;
  commit: string;
  log: (line: string) => void;
}

export async function runExplainEval(o: ExplainEvalOptions): Promise<void> {
  if (o.phase === 'choose' && o.split !== 'valid')
    throw new Error('--phase choose reads the valid split only (choices are never made on test)');
  const loaded = loadModelDir(o.modelDir);
  const { train, valid, test } = loadSplits(o.dataset, o.dataDir);
  const sequences = o.split === 'test' ? test : valid;
  const explainer = await Explainer.create(loaded);
  const started = performance.now();
  const elapsed = () => formatDuration((performance.now() - started) / 1000);
  const pp = (x: number) => (100 * x).toFixed(2);

  if (o.phase === 'choose') {
    const r = removalLikelihood(
      explainer,
      o.limit ? sequences.slice(0, o.limit) : sequences,
      loaded.behaviors,
      REMOVALS,
    );
    o.log(`${o.dataset} valid, ${r.positions} positions: mean log-probability of the true next event`);
    console.log(`  whole history          ${r.full.toFixed(4)}`);
    for (const k of REMOVALS) console.log(`  one random event ${k.padEnd(8)} ${r.removed[k].toFixed(4)}`);
    const best = REMOVALS.reduce((a, b) => (r.removed[b] > r.removed[a] ? b : a));
    console.log(`choice: ${best} (the default in src/core/explain.ts is ${DEFAULT_REMOVAL})`);
    loaded.model.dispose();
    return;
  }

  let deletion: DeletionSummary | null = null;
  if (o.phase === 'all' || o.phase === 'deletion') {
    o.log(`deletion test on ${o.dataset} ${o.split}, removal ${o.removal}, k = ${DELETION_KS.join(', ')}`);
    const result = deletionTest(explainer, sequences, loaded.behaviors, {
      ks: DELETION_KS,
      removal: o.removal,
      limit: o.limit,
    });
    o.log(`${result.positions} positions of ${result.sequences} sequences in ${elapsed()}`);
    const summary = summarizeDeletion(result, { resamples: o.resamples });
    deletion = { ...result, ...summary };
    for (const f of summary.figures) {
      console.log(
        `  ${f.target.padEnd(9)} ${f.method.padEnd(9)} k=${f.k}  fall ${pp(f.drop.estimate)} pp [${pp(f.drop.low)}, ${pp(f.drop.high)}]  top-1 change ${(100 * f.changed.estimate).toFixed(1)}%`,
      );
    }
    for (const c of summary.comparisons)
      console.log(
        `  ${c.target.padEnd(9)} k=${c.k}  ${c.name.padEnd(22)} ${pp(c.drop.estimate)} pp [${pp(c.drop.low)}, ${pp(c.drop.high)}]`,
      );
  }

  let week: { positions: number; rows: WeekSummaryRow[] } | null = null;
  if (o.phase === 'all' || o.phase === 'week') {
    o.log(`week check on ${o.dataset} ${o.split}: heatmaps of every position`);
    const totals = weekTotals(explainer, sequences, loaded.behaviors, o.limit);
    const rows = weekCheck(
      totals,
      loaded.behaviors,
      mostFrequent(loaded.behaviors, WEEK_BEHAVIORS),
      train,
      fitTimePopularity(train, loaded.behaviors),
    );
    week = { positions: totals.positions, rows };
    o.log(`${totals.positions} positions in ${elapsed()}`);
    const mean = (f: (r: WeekSummaryRow) => number) => (rows.reduce((s, r) => s + f(r), 0) / rows.length).toFixed(4);
    console.log(
      `  heatmap JSD (bits), mean of ${rows.length}: model ${mean((r) => r.heatmap.model)}, time-popularity ${mean((r) => r.heatmap.timePopularity)}, context-free ${mean((r) => r.heatmap.contextFree)}`,
    );
    console.log(
      `  joint JSD (bits),   mean of ${rows.length}: model ${mean((r) => r.joint.model)}, train cells ${mean((r) => r.joint.trainCells)}, context-free ${mean((r) => r.joint.contextFree)}`,
    );
  }

  const writes = o.phase === 'all' && o.split === 'test' && o.removal === DEFAULT_REMOVAL && o.limit === undefined;
  if (writes && deletion && week) {
    const input = { model: loaded.manifest.name, dataset: o.dataset, split: o.split, deletion, week };
    writeResultRows({ [EXPLAIN_TASK]: explainRows(input) });
    writeSection(
      EXPLAIN_MD,
      'explain-eval',
      explainMarkdown(input, { commit: o.commit, date: new Date().toISOString(), command: 'npm run explain-eval' }),
    );
    o.log(`wrote the "${EXPLAIN_TASK}" rows of ${RESULTS_JSON} and the measured section of ${EXPLAIN_MD}`);
  } else o.log('nothing written (only a full run on test with the default removal writes the report)');
  loaded.model.dispose();
}
