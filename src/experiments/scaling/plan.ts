/**
 * The scaling-law grid on US: model sizes × train-data fractions × seeds, cross-entropy, each
 * trained to early stopping on valid. Pure: which cells, not whether they are done.
 */
import { sizeConfig, SIZES } from '../../train/recipe';
import type { RunSpec } from '../../node/run-spec';

export const DATASET = 'us';
/** Shares of the train split (nested subsets), 1/16 → 1 (16×). */
export const FRACTIONS = [0.0625, 0.125, 0.25, 0.5, 1];
/** Small subsets would stop at 24 epochs still improving: every cell gets ≥ 3,000 steps (full data: 3,672). */
export const MIN_STEPS = 3000;

/** A grid cell: its size name (src/train/recipe.ts SIZES) and its run. */
export interface GridCell {
  size: string;
  spec: RunSpec;
}

/** Cheapest first, so a partial grid already has every size and fraction at seed 0. */
export function scalingPlan(seeds: readonly number[]): GridCell[] {
  const cells: GridCell[] = [];
  for (const seed of seeds)
    for (const fraction of FRACTIONS)
      for (const size of Object.keys(SIZES)) {
        const spec: RunSpec = { dataset: DATASET, objective: { name: 'ce' }, seed, ...sizeConfig(size) };
        if (fraction !== 1) Object.assign(spec, { fraction, train: { minSteps: MIN_STEPS } });
        cells.push({ size, spec });
      }
  return cells;
}
