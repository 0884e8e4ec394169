/**
 * Bootstrap intervals (Efron & Tibshirani, 1993). The paired bootstrap over test sequences says
 * how much a difference between models measured on one test split could move if the split were
 * drawn again: sequences are resampled with replacement, the same draw for every model compared
 * (paired), and the statistic is recomputed on each draw. Percentile intervals; the median of
 * the resamples is given too, since a statistic can shift under resampling (macro recall only
 * averages over the behaviors a resample contains). Pure.
 */
import { createRng } from './random';
import { rankingMetrics, type RankedTarget } from './metrics';

export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

export interface BootstrapInterval extends Interval {
  /** `estimate`: the statistic on the split as it is; low/high: the percentile interval at `level`. */
  level: number;
  resamples: number;
  /** Median of the resampled statistics: far from `estimate` when resampling shifts the statistic. */
  median: number;
  /** Share of resamples whose statistic is ≥ `threshold` (when one is given). */
  shareAtLeast?: number;
}

export interface BootstrapOptions {
  resamples?: number;
  level?: number;
  seed?: number;
  threshold?: number;
}

/** Percentile interval of sorted replicates at `level`, on the outer ranks (floor, ceil) so it never comes out narrower. */
export function percentileInterval(sorted: ArrayLike<number>, level: number): { low: number; high: number } {
  const last = sorted.length - 1;
  const tail = (1 - level) / 2;
  return { low: sorted[Math.floor(tail * last)], high: sorted[Math.ceil((1 - tail) * last)] };
}

/**
 * `statistic(draw)` gets the indices (0 … sequenceCount − 1, with repeats) of one resample and
 * returns named figures; each gets its interval from the same resamples. The identity draw
 * gives the estimates. `draw` is one buffer reused across resamples: read it, do not keep it.
 */
export function bootstrapIntervals<K extends string>(
  sequenceCount: number,
  statistic: (draw: Int32Array) => Record<K, number>,
  options: BootstrapOptions = {},
): Record<K, BootstrapInterval> {
  const { resamples = 1000, level = 0.95, seed = 0, threshold } = options;
  if (!(sequenceCount > 0)) throw new Error('bootstrap: no sequences to resample');
  if (!(level > 0 && level < 1)) throw new Error(`bootstrap: level must be in (0, 1), got ${level}`);
  if (!(Number.isInteger(resamples) && resamples > 0))
    throw new Error(`bootstrap: resamples must be a positive integer, got ${resamples}`);
  const rng = createRng(seed);
  const estimates = statistic(Int32Array.from({ length: sequenceCount }, (_, i) => i));
  const keys = Object.keys(estimates) as K[];
  for (const k of keys)
    if (!Number.isFinite(estimates[k]))
      throw new Error(`bootstrap: the statistic "${k}" is ${estimates[k]} on the whole split`);
  const values = Object.fromEntries(keys.map((k) => [k, new Float64Array(resamples)])) as Record<K, Float64Array>;
  const draw = new Int32Array(sequenceCount);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < sequenceCount; i++) draw[i] = Math.floor(rng() * sequenceCount);
    const figures = statistic(draw);
    for (const k of keys) values[k][r] = figures[k];
  }
  const interval = (estimate: number, sorted: Float64Array): BootstrapInterval => ({
    estimate,
    ...percentileInterval(sorted, level),
    level,
    resamples,
    median: (sorted[Math.floor((resamples - 1) / 2)] + sorted[Math.ceil((resamples - 1) / 2)]) / 2,
    ...(threshold !== undefined ? { shareAtLeast: sorted.filter((v) => v >= threshold).length / resamples } : {}),
  });
  return Object.fromEntries(keys.map((k) => [k, interval(estimates[k], values[k].sort())])) as Record<
    K,
    BootstrapInterval
  >;
}

/** bootstrapIntervals for one figure. */
export function bootstrapInterval(
  sequenceCount: number,
  statistic: (draw: Int32Array) => number,
  options: BootstrapOptions = {},
): BootstrapInterval {
  return bootstrapIntervals(sequenceCount, (draw) => ({ value: statistic(draw) }), options).value;
}

/**
 * Relative gain of arm A over arm B on a ranking metric (mean over each arm's models, e.g.
 * seeds), paired-bootstrapped over sequences. `a[model][s]` holds the model's ranked targets of
 * sequence s; every model must list the same sequences in the same order.
 */
export function relativeGainInterval(
  a: readonly (readonly RankedTarget[])[][],
  b: readonly (readonly RankedTarget[])[][],
  metric: 'weighted_recall@1' | 'weighted_recall@5' | 'macro_recall@1' | 'macro_recall@5',
  options: BootstrapOptions = {},
): BootstrapInterval {
  const models = [...a, ...b];
  const count = models[0]?.length ?? 0;
  if (models.some((m) => m.length !== count))
    throw new Error('bootstrap: every model must be scored on the same sequences');
  const mean = (arm: typeof a, draw: Int32Array) =>
    arm.reduce((sum, model) => {
      const targets: RankedTarget[] = [];
      for (const s of draw) for (const t of model[s]) targets.push(t);
      return sum + rankingMetrics(targets)[metric];
    }, 0) / arm.length;
  return bootstrapInterval(count, (draw) => mean(a, draw) / mean(b, draw) - 1, options);
}
