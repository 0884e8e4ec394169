/**
 * The scaling-law report as the app and the docs read it (docs/scaling.json). Pure data
 * shapes plus the checks that a loaded file has them.
 */
import type { Interval, Law1D, Law2D } from './scaling';

export interface ScalingCell {
  /** Size name of the grid (e.g. "xs"). */
  size: string;
  /** Share of the US train split's sequences. */
  fraction: number;
  seed: number;
  parameters: number;
  nonEmbeddingParameters: number;
  /** Training targets (events) in the subset: D of the law. */
  trainTargets: number;
  /** Targets processed over all epochs run. */
  targetsSeen: number;
  epochsRun: number;
  bestEpoch: number;
  testLoss: number;
  validLoss: number;
  'weighted_recall@5': number;
  'macro_recall@5': number;
  seconds: number;
}

export interface ScalingReport {
  date: string;
  commit: string;
  dataset: string;
  cells: ScalingCell[];
  /** L(N, D) = E + A/N^α + B/D^β over every cell, with 90% bootstrap intervals over seeds. */
  law: Law2D & { r2: number; intervals: { alpha: Interval; beta: Interval; E: Interval } };
  /** L(N) over sizes at the full train split, and L(D) over fractions at the largest size (seed means). */
  lawN: Law1D & { r2: number };
  lawD: Law1D & { r2: number };
  /** The app's shipped model, for "where it sits" (it is trained with DRO, so its CE is not on the CE curve). */
  shipped?: { name: string; nonEmbeddingParameters: number; trainTargets: number; testLoss: number };
}

export function parseScalingReport(json: unknown, file = 'scaling.json'): ScalingReport {
  const r = json as Partial<ScalingReport>;
  if (!r || typeof r !== 'object') throw new Error(`${file}: not a JSON object`);
  if (!Array.isArray(r.cells)) throw new Error(`${file}: field "cells" is not a list`);
  r.cells.forEach((c, i) => {
    for (const key of ['nonEmbeddingParameters', 'trainTargets', 'testLoss', 'fraction'] as const) {
      if (typeof c[key] !== 'number' || !Number.isFinite(c[key]))
        throw new Error(`${file}: cells[${i}].${key} is not a number`);
    }
  });
  for (const key of ['law', 'lawN', 'lawD'] as const) {
    const law = r[key] as Partial<Law1D> | undefined;
    if (!law || typeof law.E !== 'number' || typeof law.A !== 'number' || typeof law.alpha !== 'number')
      throw new Error(`${file}: field "${key}" is not a fitted law`);
  }
  return r as ScalingReport;
}
