/**
 * Paired bootstrap over test sequences (Efron & Tibshirani, 1993): how much a difference between
 * two models measured on one test split could move if the split were drawn again. Sequences
 * are resampled with replacement, the same draw for every model compared (paired), and the
 * statistic is recomputed on each draw; the interval is the percentile interval. Pure.
 */
import { createRng } from './random';
import { rankingMetrics, type RankedTarget } from './metrics';

export interface BootstrapInterval {
  /** The statistic on the split as it is. */
  estimate: number;
  /** Percentile interval at `level`. */
  low: number;
  high: number;
  level: number;
  resamples: number;
  /** Share of resamples whose statistic is ≥ `threshold` (when one is given). */
  shareAtLeast?: number;
}

export interface BootstrapOptions {
  resamples?: number;
  level?: number;
  seed?: number;
  threshold?: number;
}

/**
 * `statistic(draw)` gets the indices (0 … sequenceCount − 1, with repeats) of one resample and
 * returns named figures; each gets its interval from the same resamples. The identity draw
 * gives the estimates.
 */
export function bootstrapIntervals<K extends string>(sequenceCount: number, statistic: (draw: Int32Array) => Record<K, number>, options: BootstrapOptions = {}): Record<K, BootstrapInterval> {
  const { resamples = 1000, level = 0.95, seed = 0, threshold } = options;
  if (!(sequenceCount > 0)) throw new Error('bootstrap: no sequences to resample');
  if (!(level > 0 && level < 1)) throw new Error(`bootstrap: level must be in (0, 1), got ${level}`);
  const rng = createRng(seed);
  const estimates = statistic(Int32Array.from({ length: sequenceCount }, (_, i) => i));
  const keys = Object.keys(estimates) as K[];
  const values = Object.fromEntries(keys.map((k) => [k, new Float64Array(resamples)])) as Record<K, Float64Array>;
  const draw = new Int32Array(sequenceCount);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < sequenceCount; i++) draw[i] = Math.floor(rng() * sequenceCount);
    const figures = statistic(draw);
    for (const k of keys) values[k][r] = figures[k];
  }
  const tail = (1 - level) / 2;
  const interval = (estimate: number, sorted: Float64Array): BootstrapInterval => {
    const at = (q: number) => sorted[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))];
    return {
      estimate,
      low: at(tail),
      high: at(1 - tail),
      level,
      resamples,
      ...(threshold !== undefined ? { shareAtLeast: sorted.filter((v) => v >= threshold).length / resamples } : {}),
    };
  };
  return Object.fromEntries(keys.map((k) => [k, interval(estimates[k], values[k].sort())])) as Record<K, BootstrapInterval>;
}

/** bootstrapIntervals for one figure. */
export function bootstrapInterval(sequenceCount: number, statistic: (draw: Int32Array) => number, options: BootstrapOptions = {}): BootstrapInterval {
  return bootstrapIntervals(sequenceCount, (draw) => ({ value: statistic(draw) }), options).value;
}

/**
 * Relative gain of arm A over arm B on a ranking metric (mean over each arm's models, e.g.
 * seeds), paired-bootstrapped over sequences. `bySequence[arm][model][s]` holds model's ranked
 * targets of sequence s; every model must list the same sequences in the same order.
 */
export function relativeGainInterval(
  a: readonly (readonly RankedTarget[])[][],
  b: readonly (readonly RankedTarget[])[][],
  metric: string,
  options: BootstrapOptions = {},
): BootstrapInterval {
  const models = [...a, ...b];
  const count = models[0]?.length ?? 0;
  if (models.some((m) => m.length !== count)) throw new Error('bootstrap: every model must be scored on the same sequences');
  const mean = (arm: typeof a, draw: Int32Array) =>
    arm.reduce((sum, model) => {
      const targets: RankedTarget[] = [];
      for (const s of draw) for (const t of model[s]) targets.push(t);
      return sum + rankingMetrics(targets)[metric];
    }, 0) / arm.length;
  return bootstrapInterval(count, (draw) => mean(a, draw) / mean(b, draw) - 1, options);
}
