/**
 * The results file (docs/results.json) the docs and the app read: one row per task × dataset ×
 * target set × model, metrics as means over seeds with their standard deviations. Pure.
 */
import type { MetricSet } from './metrics';

export const RESULT_METRICS = [
  'weighted_recall@1',
  'weighted_recall@5',
  'weighted_recall@10',
  'macro_recall@1',
  'macro_recall@5',
  'macro_recall@10',
  'ndcg@10',
  'mrr',
  'head_recall@5',
  'tail_recall@5',
] as const;

export interface ResultRow {
  task: string;
  dataset: string;
  targets?: 'all' | 'no-refresh';
  model: string;
  objective?: string;
  seeds?: number;
  metrics: Record<string, number>;
  std?: Record<string, number>;
  [extra: string]: unknown;
}

export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  // Sample standard deviation (n − 1); 0 for a single run.
  const variance = values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

/** Mean ± std of each metric over runs (e.g. seeds), rounded to 4 decimals. */
export function aggregateMetrics(
  runs: readonly MetricSet[],
  keys: readonly string[] = RESULT_METRICS,
): { metrics: Record<string, number>; std: Record<string, number> } {
  const metrics: Record<string, number> = {};
  const std: Record<string, number> = {};
  for (const k of keys) {
    const values = runs.map((r) => r[k]).filter((v) => v !== undefined && !Number.isNaN(v));
    if (values.length === 0) continue;
    const s = meanStd(values);
    metrics[k] = round4(s.mean);
    std[k] = round4(s.std);
  }
  return { metrics, std };
}

export function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/**
 * Replaces the rows of `task` in `existing` by `rows`, keeping other tasks' rows where they are:
 * the new rows take the place of the task's first old row (appended when it had none), so
 * regenerating one report leaves the order of the file as it was.
 */
export function mergeRows(existing: readonly ResultRow[], task: string, rows: readonly ResultRow[]): ResultRow[] {
  const at = existing.findIndex((r) => r.task === task);
  if (at < 0) return [...existing, ...rows];
  const before = existing.slice(0, at);
  const after = existing.slice(at).filter((r) => r.task !== task);
  return [...before, ...rows, ...after];
}

/** Validates a parsed results.json (the app shows it), naming the bad row and field. */
export function parseResults(json: unknown, file = 'results.json'): ResultRow[] {
  if (!Array.isArray(json)) throw new Error(`${file}: expected a list of rows`);
  json.forEach((row, i) => {
    for (const field of ['task', 'dataset', 'model'] as const) {
      if (typeof row?.[field] !== 'string')
        throw new Error(`${file}: row ${i + 1}, field "${field}": missing or not a string`);
    }
    if (typeof row.metrics !== 'object' || row.metrics === null)
      throw new Error(`${file}: row ${i + 1}, field "metrics": missing`);
  });
  return json as ResultRow[];
}
