/**
 * The Evaluation tab's logic: which results rows to show, the best value per column, how a
 * metric (mean ± std over seeds) is written, and which row is the shipped model. Pure.
 */
import { parseResults, type ResultRow } from '../../core/results';
import { parseGlobbed } from './globbed-json';

export const EVAL_TASK = 'next-behavior';

export type TargetSet = 'all' | 'no-refresh';
export const TARGET_SETS: readonly { id: TargetSet; label: string }[] = [
  { id: 'all', label: 'All targets' },
  { id: 'no-refresh', label: 'Without refresh' },
];

/** Table columns, in order. */
export const TABLE_COLUMNS = [
  { key: 'weighted_recall@1', group: 'Weighted', label: 'R@1' },
  { key: 'weighted_recall@5', group: 'Weighted', label: 'R@5' },
  { key: 'macro_recall@1', group: 'Macro', label: 'R@1' },
  { key: 'macro_recall@5', group: 'Macro', label: 'R@5' },
  { key: 'ndcg@10', group: '', label: 'NDCG@10' },
  { key: 'mrr', group: '', label: 'MRR' },
] as const;

export const HEAD_KEY = 'head_recall@5';
export const TAIL_KEY = 'tail_recall@5';

const DATASET_LABELS: Record<string, string> = { us: 'US', sp: 'Spain', fr: 'France' };
const DATASET_ORDER = ['us', 'sp', 'fr'];

export function datasetLabel(dataset: string): string {
  return DATASET_LABELS[dataset] ?? dataset.toUpperCase();
}

export type LoadedResults =
  | { status: 'ok'; rows: ResultRow[] }
  | { status: 'missing' }
  | { status: 'invalid'; error: string };

/** The results from `import.meta.glob(..., { eager: true, import: 'default' })`, validated. */
export function resultsFromModules(modules: Record<string, unknown>, file = 'docs/results.json'): LoadedResults {
  const loaded = parseGlobbed(modules, (json) => parseResults(json, file));
  return loaded.status === 'ok' ? { status: 'ok', rows: loaded.value } : loaded;
}

function targetsOf(row: ResultRow): TargetSet {
  return row.targets ?? 'all';
}

function evalRows(rows: readonly ResultRow[]): ResultRow[] {
  return rows.filter((r) => r.task === EVAL_TASK);
}

/** Datasets with next-behavior rows: US, Spain, France first, then any other in file order. */
export function datasetsIn(rows: readonly ResultRow[]): string[] {
  const present = [...new Set(evalRows(rows).map((r) => r.dataset))];
  const rank = (d: string) => (DATASET_ORDER.includes(d) ? DATASET_ORDER.indexOf(d) : DATASET_ORDER.length);
  return present
    .map((d, i) => ({ d, i }))
    .sort((a, b) => rank(a.d) - rank(b.d) || a.i - b.i)
    .map((x) => x.d);
}

/** Target sets with next-behavior rows for `dataset`, in TARGET_SETS order. */
export function targetSetsIn(rows: readonly ResultRow[], dataset: string): TargetSet[] {
  const present = new Set(
    evalRows(rows)
      .filter((r) => r.dataset === dataset)
      .map(targetsOf),
  );
  return TARGET_SETS.map((t) => t.id).filter((t) => present.has(t));
}

/** The next-behavior rows of one dataset and target set, in file order (rows without `targets` count as 'all'). */
export function selectRows(rows: readonly ResultRow[], dataset: string, targets: TargetSet): ResultRow[] {
  return evalRows(rows).filter((r) => r.dataset === dataset && targetsOf(r) === targets);
}

export interface Selection {
  dataset: string;
  targets: TargetSet;
}

/**
 * The selection actually shown: the requested one where it has rows, else the first dataset
 * present and the first target set present for it; null when there are no next-behavior rows.
 */
export function resolveSelection(
  rows: readonly ResultRow[],
  dataset: string | null,
  targets: TargetSet,
): Selection | null {
  const datasets = datasetsIn(rows);
  if (datasets.length === 0) return null;
  const d = dataset !== null && datasets.includes(dataset) ? dataset : datasets[0];
  const sets = targetSetsIn(rows, d);
  return { dataset: d, targets: sets.includes(targets) ? targets : sets[0] };
}

function value(row: ResultRow, key: string): number | undefined {
  const v = row.metrics[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The highest value of each metric among `rows` (absent when no row has it). */
export function bestPerColumn(
  rows: readonly ResultRow[],
  keys: readonly string[] = TABLE_COLUMNS.map((c) => c.key),
): Record<string, number> {
  const best: Record<string, number> = {};
  for (const key of keys) {
    for (const row of rows) {
      const v = value(row, key);
      if (v !== undefined && (best[key] === undefined || v > best[key])) best[key] = v;
    }
  }
  return best;
}

/** Whether `row` holds the best value of `key` (ties: every row with it). */
export function isBest(row: ResultRow, key: string, best: Record<string, number>): boolean {
  const v = value(row, key);
  return v !== undefined && best[key] !== undefined && v === best[key];
}

/**
 * A metric as a percentage, `41.2%`, with the standard deviation over seeds when there was more
 * than one, `41.2% ± 0.3`; '–' when the row lacks the metric.
 */
export function formatMetric(row: ResultRow, key: string, digits = 1): string {
  const v = value(row, key);
  if (v === undefined) return '–';
  const mean = `${(v * 100).toFixed(digits)}%`;
  const s = row.std?.[key];
  if ((row.seeds ?? 0) > 1 && typeof s === 'number' && Number.isFinite(s))
    return `${mean} ± ${(s * 100).toFixed(digits)}`;
  return mean;
}

/** Seeds as shown: a count, or '–' for deterministic baselines (0 seeds). */
export function formatSeeds(row: ResultRow): string {
  return row.seeds ? String(row.seeds) : '–';
}

/** Model names the training record used for objectives before they were ObjectiveSpecs. */
const OBJECTIVE_ALIASES: Record<string, string> = { 'cross-entropy': 'ce' };

/**
 * The shipped model's objective name from its training record: `training.objective.name`
 * (an ObjectiveSpec), an older plain string, else 'dro' (the objective the app ships).
 */
export function shippedObjective(training: Record<string, unknown> | null | undefined): string {
  const o = training?.objective;
  const name = typeof o === 'string' ? o : o && typeof o === 'object' ? (o as { name?: unknown }).name : undefined;
  if (typeof name !== 'string' || name === '') return 'dro';
  return OBJECTIVE_ALIASES[name] ?? name;
}

/** The shipped model's row: a BehaveGPT row (not the context-free ablation) trained with its objective. */
export function isShippedRow(row: ResultRow, objective: string): boolean {
  return row.objective === objective && !row.model.startsWith('Context-free');
}

export interface HeadTailBar {
  model: string;
  head: number;
  tail: number;
}

/** Head vs tail recall@5 per row, for rows that have both. */
export function headTailBars(rows: readonly ResultRow[]): HeadTailBar[] {
  return rows.flatMap((r) => {
    const head = value(r, HEAD_KEY);
    const tail = value(r, TAIL_KEY);
    return head === undefined || tail === undefined ? [] : [{ model: r.model, head, tail }];
  });
}
