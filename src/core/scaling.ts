/**
 * Fitting scaling laws of loss against model size N and data size D. Pure.
 *
 *   L(N, D) = E + A / N^α + B / D^β          (Hoffmann et al., 2022, "Chinchilla", approach 3)
 *   L(x)    = E + A / x^α                    (the 1-D laws, one variable at a time)
 *
 * Fitting method (as Chinchilla): minimise the Huber loss (δ = 1e-3) of log L_pred − log L_obs
 * over the parameters (log E, log A, log B, α, β), with Nelder–Mead from a grid of starting
 * points; exponents are bounded to [0, 3] and E to (0, min observed loss]. Uncertainty: a
 * bootstrap that resamples whole seeds (each replicate picks seeds with replacement and refits),
 * giving percentile intervals.
 */
import { percentileInterval, type Interval } from './bootstrap';
import { createRng, type Rng } from './random';

export interface ScalingPoint {
  /** Non-embedding parameters. */
  n: number;
  /** Training tokens (or events) seen. */
  d: number;
  loss: number;
  seed?: number;
}

export interface Law2D {
  E: number;
  A: number;
  alpha: number;
  B: number;
  beta: number;
}

export interface Law1D {
  E: number;
  A: number;
  alpha: number;
}

export function predict2D(law: Law2D, n: number, d: number): number {
  return law.E + law.A / n ** law.alpha + law.B / d ** law.beta;
}

export function predict1D(law: Law1D, x: number): number {
  return law.E + law.A / x ** law.alpha;
}

function huber(r: number, delta: number): number {
  const a = Math.abs(r);
  return a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
}

/** Nelder–Mead simplex minimisation (Nelder & Mead, 1965), standard coefficients. */
export function nelderMead(
  f: (x: number[]) => number,
  start: number[],
  options: { step?: number; iterations?: number; tolerance?: number } = {},
): { x: number[]; value: number } {
  const { step = 0.5, iterations = 4000, tolerance = 1e-12 } = options;
  const n = start.length;
  let simplex = [start, ...start.map((_, i) => start.map((v, j) => (i === j ? v + step : v)))].map((x) => ({
    x,
    v: f(x),
  }));
  for (let it = 0; it < iterations; it++) {
    simplex.sort((a, b) => a.v - b.v);
    if (Math.abs(simplex[n].v - simplex[0].v) < tolerance) break;
    const centroid = start.map((_, j) => simplex.slice(0, n).reduce((s, p) => s + p.x[j], 0) / n);
    const along = (t: number) => centroid.map((c, j) => c + t * (simplex[n].x[j] - c));
    const reflected = along(-1);
    const fr = f(reflected);
    if (fr < simplex[0].v) {
      const expanded = along(-2);
      const fe = f(expanded);
      simplex[n] = fe < fr ? { x: expanded, v: fe } : { x: reflected, v: fr };
    } else if (fr < simplex[n - 1].v) {
      simplex[n] = { x: reflected, v: fr };
    } else {
      const contracted = fr < simplex[n].v ? along(-0.5) : along(0.5);
      const fc = f(contracted);
      if (fc < Math.min(fr, simplex[n].v)) simplex[n] = { x: contracted, v: fc };
      else
        simplex = simplex
          .map((p, i) =>
            i === 0 ? p : { x: p.x.map((v, j) => simplex[0].x[j] + 0.5 * (v - simplex[0].x[j])), v: NaN },
          )
          .map((p) => (Number.isNaN(p.v) ? { x: p.x, v: f(p.x) } : p));
    }
  }
  simplex.sort((a, b) => a.v - b.v);
  return { x: simplex[0].x, value: simplex[0].v };
}

const DELTA = 1e-3;
const MAX_EXPONENT = 3;

/** Parameters outside the bounds get a large penalty, so the simplex stays inside. */
function bounded(penalty: boolean, value: number): number {
  return penalty ? 1e6 : value;
}

export function fitLaw2D(points: readonly ScalingPoint[]): { law: Law2D; objective: number } {
  if (points.length < 5) throw new Error(`scaling fit: ${points.length} points for 5 parameters`);
  const minLoss = Math.min(...points.map((p) => p.loss));
  const objective = ([e, a, alpha, b, beta]: number[]) =>
    bounded(
      alpha < 0 || alpha > MAX_EXPONENT || beta < 0 || beta > MAX_EXPONENT || Math.exp(e) > minLoss,
      points.reduce(
        (s, p) =>
          s +
          huber(
            Math.log(predict2D({ E: Math.exp(e), A: Math.exp(a), alpha, B: Math.exp(b), beta }, p.n, p.d)) -
              Math.log(p.loss),
            DELTA,
          ),
        0,
      ),
    );
  let best = { x: [0, 0, 0, 0, 0], value: Infinity };
  for (const e of [Math.log(minLoss * 0.5), Math.log(minLoss * 0.9)])
    for (const a of [0, 5])
      for (const alpha of [0.2, 0.6])
        for (const b of [0, 5])
          for (const beta of [0.2, 0.6]) {
            const r = nelderMead(objective, [e, a, alpha, b, beta], { iterations: 1500 });
            if (r.value < best.value) best = r;
          }
  const refined = nelderMead(objective, best.x, { step: 0.05, iterations: 4000 });
  const [e, a, alpha, b, beta] = refined.x;
  return { law: { E: Math.exp(e), A: Math.exp(a), alpha, B: Math.exp(b), beta }, objective: refined.value };
}

export function fitLaw1D(xs: readonly number[], losses: readonly number[]): { law: Law1D; objective: number } {
  if (xs.length < 3) throw new Error(`scaling fit: ${xs.length} points for 3 parameters`);
  const minLoss = Math.min(...losses);
  const objective = ([e, a, alpha]: number[]) =>
    bounded(
      alpha < 0 || alpha > MAX_EXPONENT || Math.exp(e) > minLoss,
      xs.reduce(
        (s, x, i) =>
          s + huber(Math.log(predict1D({ E: Math.exp(e), A: Math.exp(a), alpha }, x)) - Math.log(losses[i]), DELTA),
        0,
      ),
    );
  let best = { x: [0, 0, 0], value: Infinity };
  for (const e of [Math.log(minLoss * 0.3), Math.log(minLoss * 0.7), Math.log(minLoss * 0.95)])
    for (const a of [-2, 0, 3, 6, 10])
      for (const alpha of [0.1, 0.3, 0.7, 1.5]) {
        const r = nelderMead(objective, [e, a, alpha], { iterations: 2000 });
        if (r.value < best.value) best = r;
      }
  const refined = nelderMead(objective, best.x, { step: 0.05 });
  const [e, a, alpha] = refined.x;
  return { law: { E: Math.exp(e), A: Math.exp(a), alpha }, objective: refined.value };
}

/** R² of log loss: how much of the variance of log L the law explains. */
export function logR2(predicted: readonly number[], observed: readonly number[]): number {
  const y = observed.map(Math.log);
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const total = y.reduce((s, v) => s + (v - mean) ** 2, 0);
  const residual = y.reduce((s, v, i) => s + (v - Math.log(predicted[i])) ** 2, 0);
  return 1 - residual / total;
}

export type { Interval };

/**
 * Percentile bootstrap over seeds: each replicate draws as many seeds as there are, with
 * replacement, takes every point of each drawn seed, and refits. Returns 90% intervals.
 */
export function bootstrapLaw2D(
  points: readonly ScalingPoint[],
  replicates = 50,
  seed = 0,
  rng: Rng = createRng(seed),
): { alpha: Interval; beta: Interval; E: Interval } {
  const seeds = [...new Set(points.map((p) => p.seed ?? 0))];
  const fit = fitLaw2D(points).law;
  const draws: Law2D[] = [];
  for (let r = 0; r < replicates; r++) {
    const chosen = seeds.map(() => seeds[Math.floor(rng() * seeds.length)]);
    const sample = chosen.flatMap((s) => points.filter((p) => (p.seed ?? 0) === s));
    draws.push(fitLaw2D(sample).law);
  }
  const interval = (key: keyof Law2D): Interval => {
    const v = draws.map((d) => d[key]).sort((a, b) => a - b);
    return { estimate: fit[key], ...percentileInterval(v, 0.9) };
  };
  return { alpha: interval('alpha'), beta: interval('beta'), E: interval('E') };
}
