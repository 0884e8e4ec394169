import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../src/core/results';
import {
  bestPerColumn,
  datasetLabel,
  datasetsIn,
  formatMetric,
  formatSeeds,
  headTailBars,
  isBest,
  isShippedRow,
  resolveSelection,
  resultsFromModules,
  selectRows,
  shippedObjective,
  targetSetsIn,
} from '../src/app/lib/results-view';

/** A small hand-made docs/results.json: Spain listed before US, one other task, rows in file order. */
const ROWS: ResultRow[] = [
  {
    task: 'next-behavior',
    dataset: 'sp',
    targets: 'all',
    model: 'popularity',
    objective: 'none',
    seeds: 0,
    metrics: { 'weighted_recall@1': 0.2, 'head_recall@5': 0.6, 'tail_recall@5': 0.01 },
  },
  {
    task: 'next-behavior',
    dataset: 'us',
    targets: 'all',
    model: 'markov-1',
    objective: 'none',
    seeds: 0,
    metrics: {
      'weighted_recall@1': 0.4012,
      'weighted_recall@5': 0.8,
      'macro_recall@1': 0.05,
      mrr: 0.55,
      'head_recall@5': 0.9,
      'tail_recall@5': 0.1,
    },
  },
  {
    task: 'next-behavior',
    dataset: 'us',
    targets: 'all',
    model: 'BehaveGPT (cross-entropy)',
    objective: 'ce',
    seeds: 3,
    metrics: {
      'weighted_recall@1': 0.4073,
      'weighted_recall@5': 0.8632,
      'macro_recall@1': 0.0564,
      mrr: 0.55,
      'head_recall@5': 0.92,
      'tail_recall@5': 0.2,
    },
    std: { 'weighted_recall@1': 0.0021, 'weighted_recall@5': 0.00049, 'macro_recall@1': 0.003, mrr: 0.001 },
  },
  {
    task: 'next-behavior',
    dataset: 'us',
    targets: 'all',
    model: 'BehaveGPT (DRO)',
    objective: 'dro',
    seeds: 3,
    metrics: {
      'weighted_recall@1': 0.4,
      'weighted_recall@5': 0.85,
      'macro_recall@1': 0.081,
      mrr: 0.54,
      'head_recall@5': 0.9,
    },
    std: { 'weighted_recall@1': 0.004 },
  },
  {
    task: 'next-behavior',
    dataset: 'us',
    targets: 'all',
    model: 'Context-free transformer (CE)',
    objective: 'ce',
    seeds: 1,
    metrics: { 'weighted_recall@1': 0.35, 'head_recall@5': 0.8, 'tail_recall@5': 0.05 },
    std: { 'weighted_recall@1': 0 },
  },
  {
    task: 'next-behavior',
    dataset: 'us',
    targets: 'no-refresh',
    model: 'markov-1',
    objective: 'none',
    seeds: 0,
    metrics: { 'weighted_recall@1': 0.3 },
  },
  { task: 'scaling', dataset: 'fr', model: 'BehaveGPT (DRO)', metrics: { loss: 1 } },
];

describe('resultsFromModules', () => {
  it('is missing when the glob matched no file', () => {
    expect(resultsFromModules({})).toEqual({ status: 'missing' });
  });

  it('validates the file with parseResults', () => {
    expect(resultsFromModules({ '../../../docs/results.json': ROWS })).toEqual({ status: 'ok', rows: ROWS });
    expect(resultsFromModules({ x: { rows: [] } })).toEqual({
      status: 'invalid',
      error: 'docs/results.json: expected a list of rows',
    });
    expect(resultsFromModules({ x: [{ task: 'next-behavior', dataset: 'us', metrics: {} }] })).toEqual({
      status: 'invalid',
      error: 'docs/results.json: row 1, field "model": missing or not a string',
    });
  });
});

describe('selection', () => {
  it('lists next-behavior datasets, US first, and their target sets', () => {
    expect(datasetsIn(ROWS)).toEqual(['us', 'sp']);
    expect(datasetsIn([])).toEqual([]);
    expect(targetSetsIn(ROWS, 'us')).toEqual(['all', 'no-refresh']);
    expect(targetSetsIn(ROWS, 'sp')).toEqual(['all']);
    expect(targetSetsIn(ROWS, 'fr')).toEqual([]);
    expect(datasetLabel('us')).toBe('US');
    expect(datasetLabel('sp')).toBe('Spain');
    expect(datasetLabel('kr')).toBe('KR');
  });

  it('filters rows by task, dataset and target set, in file order', () => {
    expect(selectRows(ROWS, 'us', 'all').map((r) => r.model)).toEqual([
      'markov-1',
      'BehaveGPT (cross-entropy)',
      'BehaveGPT (DRO)',
      'Context-free transformer (CE)',
    ]);
    expect(selectRows(ROWS, 'us', 'no-refresh').map((r) => r.metrics['weighted_recall@1'])).toEqual([0.3]);
    expect(selectRows(ROWS, 'fr', 'all')).toEqual([]);
    // A row without `targets` counts as all targets.
    expect(selectRows([{ task: 'next-behavior', dataset: 'us', model: 'm', metrics: {} }], 'us', 'all')).toHaveLength(
      1,
    );
  });

  it('falls back to a dataset and target set that have rows', () => {
    expect(resolveSelection(ROWS, null, 'all')).toEqual({ dataset: 'us', targets: 'all' });
    expect(resolveSelection(ROWS, 'us', 'no-refresh')).toEqual({ dataset: 'us', targets: 'no-refresh' });
    expect(resolveSelection(ROWS, 'sp', 'no-refresh')).toEqual({ dataset: 'sp', targets: 'all' });
    expect(resolveSelection(ROWS, 'fr', 'no-refresh')).toEqual({ dataset: 'us', targets: 'no-refresh' });
    expect(resolveSelection([ROWS[6]], null, 'all')).toBeNull();
  });
});

describe('best per column', () => {
  const rows = selectRows(ROWS, 'us', 'all');
  const best = bestPerColumn(rows);

  it('takes the highest value of each table metric present', () => {
    expect(best).toEqual({
      'weighted_recall@1': 0.4073,
      'weighted_recall@5': 0.8632,
      'macro_recall@1': 0.081,
      mrr: 0.55,
    });
    expect(bestPerColumn(rows, ['head_recall@5'])).toEqual({ 'head_recall@5': 0.92 });
  });

  it('marks every row holding the best value (ties), none for a missing metric', () => {
    expect(rows.map((r) => isBest(r, 'weighted_recall@1', best))).toEqual([false, true, false, false]);
    expect(rows.map((r) => isBest(r, 'mrr', best))).toEqual([true, true, false, false]);
    expect(rows.map((r) => isBest(r, 'ndcg@10', best))).toEqual([false, false, false, false]);
  });
});

describe('formatting', () => {
  const [markov, ce, dro, contextFree] = selectRows(ROWS, 'us', 'all');

  it('writes percentages with ± std only when there was more than one seed', () => {
    expect(formatMetric(ce, 'weighted_recall@1')).toBe('40.7% ± 0.2');
    expect(formatMetric(ce, 'weighted_recall@5')).toBe('86.3% ± 0.0');
    expect(formatMetric(ce, 'weighted_recall@1', 2)).toBe('40.73% ± 0.21');
    expect(formatMetric(markov, 'weighted_recall@1')).toBe('40.1%');
    expect(formatMetric(contextFree, 'weighted_recall@1')).toBe('35.0%');
    // No std for this metric: the mean alone.
    expect(formatMetric(dro, 'macro_recall@1')).toBe('8.1%');
    expect(formatMetric(dro, 'ndcg@10')).toBe('–');
  });

  it('writes seeds, a dash for deterministic baselines', () => {
    expect([markov, ce, contextFree].map(formatSeeds)).toEqual(['–', '3', '1']);
  });
});

describe('shipped model', () => {
  it('reads the objective name from the training record, else dro', () => {
    expect(shippedObjective({ objective: { name: 'logit-adjusted', tau: 1 } })).toBe('logit-adjusted');
    expect(shippedObjective({ objective: 'cross-entropy' })).toBe('ce');
    expect(shippedObjective({ objective: 'dro' })).toBe('dro');
    expect(shippedObjective({})).toBe('dro');
    expect(shippedObjective({ objective: { radius: 0.1 } })).toBe('dro');
    expect(shippedObjective(null)).toBe('dro');
    expect(shippedObjective(undefined)).toBe('dro');
  });

  it('marks the BehaveGPT row with that objective, not the context-free ablation', () => {
    const rows = selectRows(ROWS, 'us', 'all');
    expect(rows.filter((r) => isShippedRow(r, 'ce')).map((r) => r.model)).toEqual(['BehaveGPT (cross-entropy)']);
    expect(rows.filter((r) => isShippedRow(r, 'dro')).map((r) => r.model)).toEqual(['BehaveGPT (DRO)']);
    expect(rows.filter((r) => isShippedRow(r, 'class-balanced'))).toEqual([]);
  });
});

describe('headTailBars', () => {
  it('lists head and tail recall@5 of the rows that have both', () => {
    expect(headTailBars(selectRows(ROWS, 'us', 'all'))).toEqual([
      { model: 'markov-1', head: 0.9, tail: 0.1 },
      { model: 'BehaveGPT (cross-entropy)', head: 0.92, tail: 0.2 },
      { model: 'Context-free transformer (CE)', head: 0.8, tail: 0.05 },
    ]);
    expect(headTailBars(selectRows(ROWS, 'us', 'no-refresh'))).toEqual([]);
  });
});
