/**
 * The next-behavior report: result rows (baselines scored here, neural runs from their records)
 * and the head of docs/RESULTS.md. Pure: records come in through a lookup, data as splits.
 */
import { behaviorCounts, fitMarkov, fitPopularity, fitTimePopularity, type Scorer } from '../../core/baselines';
import { fullMetrics, rankTargets } from '../../core/evaluation';
import { isRefresh } from '../../core/events';
import { headBehaviors } from '../../core/metrics';
import { aggregateMetrics, RESULT_METRICS, type ResultRow } from '../../core/results';
import { DEFAULT_CONFIG } from '../../model/behavegpt';
import { buildVocabularies, SHIPPED_SIZE, sizeOverrides } from '../../train/recipe';
import { RECORDS_DIR, RESULTS_JSON } from '../../node/config';
import { isContextFree, runId, type RecordLookup, type RunRecord } from '../../node/run-spec';
import type { DatasetSplits } from '../../node/data';
import { day, markdownTable, pct, regionName, targetSetTitle } from '../format';
import {
  LONG_TAIL_OBJECTIVES,
  TUNING_OBJECTIVES,
  tuneSpec,
  type LongTailObjective,
  type NextBehaviorSetup,
} from './plan';
import type { ObjectiveChoice } from './select';

export const TASK = 'next-behavior';
const TARGET_SETS = ['all', 'no-refresh'] as const;

const MODEL_LABEL: Record<string, string> = {
  ce: 'BehaveGPT (cross-entropy)',
  dro: 'BehaveGPT (DRO)',
  'logit-adjusted': 'BehaveGPT (logit-adjusted CE)',
  'class-balanced': 'BehaveGPT (class-balanced CE)',
};
const CONTEXT_FREE_LABEL = 'Context-free transformer (CE)';

/** The non-neural baselines on a dataset's test split, all targets and without refresh targets. */
export function baselineRows(dataset: string, { train, test }: DatasetSplits): ResultRow[] {
  const { behaviors } = buildVocabularies(train);
  const head = headBehaviors(behaviorCounts(train));
  const scorers: Scorer[] = [
    fitPopularity(train, behaviors),
    fitTimePopularity(train, behaviors),
    fitMarkov(train, behaviors, 1),
    fitMarkov(train, behaviors, 2),
  ];
  const rows: ResultRow[] = [];
  for (const scorer of scorers) {
    const targets = rankTargets(scorer, test, behaviors);
    for (const set of TARGET_SETS) {
      const list = set === 'all' ? targets : targets.filter((t) => !isRefresh(t.behavior));
      const { metrics } = aggregateMetrics([fullMetrics(list, head)]);
      rows.push({ task: TASK, dataset, targets: set, model: scorer.name, objective: 'none', seeds: 0, metrics });
    }
  }
  return rows;
}

/** One row per setting (its seeds grouped: mean and sample std) and target set, in the records' order. */
export function neuralRows(records: readonly RunRecord[]): ResultRow[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    const key = runId({ ...r.spec, seed: 0 });
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows: ResultRow[] = [];
  for (const runs of groups.values()) {
    const spec = runs[0].spec;
    const model = isContextFree(spec) ? CONTEXT_FREE_LABEL : MODEL_LABEL[spec.objective.name];
    for (const set of TARGET_SETS) {
      const { metrics, std } = aggregateMetrics(runs.map((r) => r.test[set]));
      rows.push({
        task: TASK,
        dataset: spec.dataset,
        targets: set,
        model,
        objective: spec.objective.name,
        hyperparameters: spec.objective,
        seeds: runs.length,
        parameters: runs[0].parameters,
        metrics,
        std,
      });
    }
  }
  return rows;
}

/** Rows as a table of every result metric; mean ± std where several seeds ran. */
export function resultsTable(rows: readonly ResultRow[]): string {
  const cell = (r: ResultRow, k: string) => {
    if (r.metrics[k] === undefined) return '–';
    return r.std && r.seeds! > 1 ? `${pct(r.metrics[k])} ± ${pct(r.std[k])}` : pct(r.metrics[k]);
  };
  const body = rows.map((r) => [r.model, String(r.seeds || '–'), ...RESULT_METRICS.map((k) => cell(r, k))]);
  return markdownTable(['model', 'seeds', ...RESULT_METRICS], body);
}

const isBaseline = (r: ResultRow) => r.objective === 'none' || r.model === CONTEXT_FREE_LABEL;
const best = (rows: readonly ResultRow[], k: string) => rows.reduce((a, b) => (b.metrics[k] > a.metrics[k] ? b : a));

/** The targets on US test (all targets), each met or missed, from the rows. */
export function targetChecks(rows: readonly ResultRow[]): string[] {
  const us = rows.filter((r) => r.dataset === 'us' && r.targets === 'all');
  const find = (objective: string) => us.find((r) => r.objective === objective && r.model !== CONTEXT_FREE_LABEL);
  const [dro, ce, la, cb] = ['dro', 'ce', 'logit-adjusted', 'class-balanced'].map(find);
  if (!dro || !ce || !la || !cb) return ['Targets: not all runs are finished.'];
  const baselines = us.filter(isBaseline);
  const lines: string[] = [];
  const check = (ok: boolean, text: string) => lines.push(`- ${ok ? '**met**' : '**MISSED**'}: ${text}`);
  const value = (r: ResultRow, k: string) => pct(r.metrics[k]);
  for (const k of ['macro_recall@1', 'macro_recall@5']) {
    const rival = best([ce, ...baselines], k);
    const gain = dro.metrics[k] / rival.metrics[k] - 1;
    const vs = `best of CE and baselines (${rival.model}) ${value(rival, k)}`;
    check(gain >= 0.1, `DRO ${k} ${value(dro, k)} vs ${vs}: ${(gain * 100).toFixed(1)}% relative (target ≥ +10%)`);
  }
  for (const k of ['weighted_recall@1', 'weighted_recall@5']) {
    const diff = (dro.metrics[k] - ce.metrics[k]) * 100;
    check(diff >= -1, `DRO ${k} ${value(dro, k)} vs CE ${value(ce, k)}: ${diff.toFixed(2)} points (target ≥ −1)`);
  }
  const m5 = 'macro_recall@5';
  for (const rival of [la, cb])
    check(dro.metrics[m5] >= rival.metrics[m5], `DRO ${m5} ${value(dro, m5)} vs ${rival.model} ${value(rival, m5)}`);
  const r1 = 'weighted_recall@1';
  const [bestNeural, bestBaseline] = [best([ce, dro, la, cb], r1), best(baselines, r1)];
  check(
    bestNeural.metrics[r1] > bestBaseline.metrics[r1],
    `best BehaveGPT ${r1} (${bestNeural.model}) ${value(bestNeural, r1)} vs best baseline (${bestBaseline.model}) ${value(bestBaseline, r1)}`,
  );
  return lines;
}

/** Every finished tuning run (US, seed 0) with its valid and test figures, the chosen ones marked. */
export function tuningTable(
  records: RecordLookup,
  setup: NextBehaviorSetup,
  choices: Record<LongTailObjective, ObjectiveChoice>,
): string {
  const chosen = new Set(LONG_TAIL_OBJECTIVES.map((n) => JSON.stringify(choices[n].spec)));
  const rows: string[][] = [];
  for (const spec of TUNING_OBJECTIVES) {
    const r = records(tuneSpec(setup, spec));
    if (!r) continue;
    const { name, ...hp } = spec;
    const test = (k: string) => pct(r.test.all[k]);
    const figures = [pct(r.valid['weighted_recall@1']), pct(r.valid['macro_recall@5'])];
    figures.push(test('weighted_recall@1'), test('macro_recall@1'), test('macro_recall@5'), test('tail_recall@5'));
    rows.push([name, JSON.stringify(hp).replace(/"/g, ''), ...figures, chosen.has(JSON.stringify(spec)) ? 'yes' : '']);
  }
  const header = [
    'objective',
    'hyperparameters',
    'valid R@1',
    'valid macro R@5',
    'test R@1',
    'test macro R@1',
    'test macro R@5',
    'test tail R@5',
    'chosen',
  ];
  return markdownTable(header, rows);
}

/** The architecture of every neural run, as the report names it. */
export function architecture(size: string): string {
  const which = size === SHIPPED_SIZE ? ', the shipped architecture' : '';
  const overrides = Object.entries(sizeOverrides(size));
  if (!overrides.length) return `BehaveGPT (src/model/behavegpt.ts) with DEFAULT_CONFIG (scaling size "m")${which}`;
  const dims = overrides.map(([k, v]) => `${k} ${v}`).join(', ');
  return `BehaveGPT (src/model/behavegpt.ts) at scaling size "${size}" (${dims}; docs/SCALING.md)${which}`;
}

export interface NextBehaviorReportInput {
  setup: NextBehaviorSetup;
  rows: readonly ResultRow[];
  choices: Record<LongTailObjective, ObjectiveChoice>;
  /** tuningTable() of the same records. */
  tuning: string;
  date: Date;
  commit: string;
}

/** The head of docs/RESULTS.md (the sections of other commands follow it). */
export function nextBehaviorMarkdown(input: NextBehaviorReportInput): string {
  return [
    '# Next-behavior prediction results',
    header(input),
    '## Protocol',
    protocol(input.setup),
    '## Hyperparameters chosen on US valid (seed 0)',
    LONG_TAIL_OBJECTIVES.map(
      (n) => `- ${n}: \`${JSON.stringify(input.choices[n].spec)}\` (${input.choices[n].why})`,
    ).join('\n'),
    TUNING_NOTE,
    input.tuning,
    '## Targets (US test, all targets)',
    targetChecks(input.rows).join('\n'),
    '## Tables',
    tables(input.setup, input.rows),
  ].join('\n\n');
}

function header({ setup, date, commit }: NextBehaviorReportInput): string {
  const command = setup.size === SHIPPED_SIZE ? 'npm run experiments' : `npm run experiments -- --size ${setup.size}`;
  return [
    `Generated by \`${command}\` on ${day(date)}, commit \`${commit}\`. Numbers are percentages on the **test**`,
    'split; every model, epoch and hyperparameter was chosen on **valid**. Neural rows: mean ± sample standard',
    `deviation over ${setup.seeds.length} seeds (${setup.seeds.join(', ')}). Raw per-run records: \`${RECORDS_DIR}/*.json\`;` +
      ` machine-readable rows: \`${RESULTS_JSON}\`.`,
  ].join('\n');
}

function protocol(setup: NextBehaviorSetup): string {
  return [
    '- For every test sequence and every position t ≥ 1, predict event t from events 0..t−1 plus the weekday, 3-hour slot and',
    `  location of event t. Sequences longer than the context (${DEFAULT_CONFIG.contextLength} tokens) are scored in sliding windows;` +
      ' every target is scored once.',
    '- Full ranking of **all** behaviors of the training vocabulary (no negative sampling). A test behavior never seen in training',
    '  is a miss. Ties count against the target.',
    '- weighted recall@k = hit rate over targets; macro recall@k = per-behavior recall averaged uniformly over the behaviors',
    '  present among the targets; NDCG@10; MRR; head / tail recall@5 = hit rate@5 over targets whose behavior is / is not among',
    '  the most frequent training behaviors covering 80% of training events (behaviors unseen in training count as tail).',
    '- "no-refresh" drops targets whose behavior ends in `:refresh refresh` (automatic status polling) from scoring; they remain in',
    '  the history.',
    "- Baselines (src/core/baselines.ts) use the same evaluator: global popularity; popularity given the target's weekday × slot",
    '  (backoff to global); first- and second-order Markov chains with interpolated backoff.',
    `- Neural models: ${architecture(setup.size)}, trained from scratch per dataset with AdamW,`,
    '  early stopping on valid cross-entropy (at most 24 epochs, cosine schedule, patience 5). The context-free transformer is' +
      ' the same model without the weekday,',
    '  slot and location streams (SASRec-like). Objectives: docs/DRO.md.',
  ].join('\n');
}

const TUNING_NOTE = [
  'The same choice is used for Spain. The table is also the DRO ablation (US, seed 0): the radius ρ, the tail mix α, the',
  'weight cap, a class-balanced centre (priorBeta) and DRO over logit-adjusted losses (tau) each varied against plain',
  'cross-entropy and the two comparators (docs/DRO.md).',
].join('\n');

/** A table per dataset and target set. */
function tables(setup: NextBehaviorSetup, rows: readonly ResultRow[]): string {
  const sections = setup.datasets.flatMap((dataset) =>
    TARGET_SETS.map((set) => {
      const table = resultsTable(rows.filter((r) => r.dataset === dataset && r.targets === set));
      return `### ${regionName(dataset)} test, ${targetSetTitle(set)}\n\n${table}`;
    }),
  );
  return sections.join('\n\n');
}
