/**
 * Class-level distributionally robust optimisation (DRO) over label distributions. Pure math;
 * the tfjs side (src/train/objectives.ts) turns the weights into a weighted cross-entropy.
 *
 * The worst case over a KL ball around a reference distribution π,
 *
 *     q* = argmax_{q : KL(q‖π) ≤ ρ}  Σ_c q_c L_c ,
 *
 * has the closed form q_c ∝ π_c exp(L_c / τ) (exponential tilting), with the temperature τ > 0
 * set so that KL(q‖π) = ρ (found by bisection: KL decreases monotonically in τ). ρ = 0 gives
 * q = π. See Namkoong & Duchi (NeurIPS 2016), Hu & Hong (2013) for the KL dual, and
 * Sagawa et al. (ICLR 2020) for online class/group DRO with moving loss estimates.
 *
 * Tail room: π = (1 − α)·p̃ + α·uniform mixes the centre p̃ (the empirical label distribution p,
 * or its class-balanced "effective number" reweighting) with the uniform one, so rare classes
 * start from a floor and can move further within the same radius; α = 0 keeps π = p̃.
 */

/** KL(q‖π) in nats; terms with q_c = 0 contribute 0. */
export function klDivergence(q: ArrayLike<number>, pi: ArrayLike<number>): number {
  let kl = 0;
  for (let c = 0; c < q.length; c++) if (q[c] > 0) kl += q[c] * Math.log(q[c] / pi[c]);
  return kl;
}

/** q_c ∝ π_c exp(L_c / τ), computed stably (shifted by max L). */
export function tilt(pi: ArrayLike<number>, losses: ArrayLike<number>, tau: number): Float64Array {
  let maxL = -Infinity;
  for (let c = 0; c < pi.length; c++) if (pi[c] > 0 && losses[c] > maxL) maxL = losses[c];
  const q = new Float64Array(pi.length);
  let z = 0;
  for (let c = 0; c < pi.length; c++) {
    if (pi[c] <= 0) continue;
    q[c] = pi[c] * Math.exp((losses[c] - maxL) / tau);
    z += q[c];
  }
  for (let c = 0; c < q.length; c++) q[c] /= z;
  return q;
}

/** The worst-case distribution in the KL ball of radius `radius` around `pi`. */
export function worstCaseDistribution(pi: ArrayLike<number>, losses: ArrayLike<number>, radius: number): Float64Array {
  if (radius <= 0) return Float64Array.from(pi);
  // The ball's far edge is the point mass on the worst class: beyond that radius, return it.
  let lo = 1e-6;
  let hi = 1e6;
  if (klDivergence(tilt(pi, losses, lo), pi) <= radius) return tilt(pi, losses, lo);
  if (klDivergence(tilt(pi, losses, hi), pi) >= radius) return tilt(pi, losses, hi);
  for (let i = 0; i < 100; i++) {
    const mid = Math.sqrt(lo * hi); // bisection in log τ
    if (klDivergence(tilt(pi, losses, mid), pi) > radius) lo = mid;
    else hi = mid;
    if (hi / lo < 1 + 1e-9) break;
  }
  return tilt(pi, losses, hi);
}

export interface DroOptions {
  /** KL radius ρ of the uncertainty set (nats); 0 → plain cross-entropy. */
  radius: number;
  /** Mix α of the uniform distribution into the reference (room for tail classes). */
  tailMix: number;
  /** Moving-average rate η of the per-class loss estimates. */
  emaRate: number;
  /** Upper bound on a class's loss weight q_c / p_c (variance control). */
  maxWeight: number;
  /**
   * Centre the ball on the class-balanced distribution of Cui et al. (2019) instead of p:
   * π_c ∝ p_c · (1 − β) / (1 − β^n_c), the "effective number" prior; 0 keeps p.
   */
  priorBeta?: number;
}

export const DEFAULT_DRO: DroOptions = { radius: 0.5, tailMix: 0.1, emaRate: 0.05, maxWeight: 20 };

/**
 * Online class DRO state: per-class loss estimates (moving averages over training batches)
 * and the resulting per-class loss weights w_c = q*_c / p_c, so that the expected weighted
 * loss under the data equals the worst-case expected loss Σ_c q*_c L_c.
 */
export class DroState {
  readonly options: DroOptions;
  /** Empirical label distribution p over the vocabulary (0 for classes never seen). */
  readonly empirical: Float64Array;
  readonly reference: Float64Array;
  readonly losses: Float64Array;

  constructor(classCounts: ArrayLike<number>, options: Partial<DroOptions> = {}) {
    this.options = { ...DEFAULT_DRO, ...options };
    const total = Array.from(classCounts).reduce((a, b) => a + b, 0);
    if (total <= 0) throw new Error('DRO: no class has any training example');
    this.empirical = Float64Array.from(classCounts, (n) => n / total);
    const seen = this.empirical.filter((p) => p > 0).length;
    const a = this.options.tailMix;
    const beta = this.options.priorBeta ?? 0;
    const prior =
      beta > 0
        ? Float64Array.from(classCounts, (n) => (n > 0 ? (n * (1 - beta)) / (1 - beta ** n) : 0))
        : this.empirical;
    const priorSum = prior.reduce((x, y) => x + y, 0);
    this.reference = prior.map((p) => (p > 0 ? (1 - a) * (p / priorSum) + a / seen : 0));
    // Start every class at the loss of a uniform guess: no class is favoured before data.
    this.losses = this.empirical.map((p) => (p > 0 ? Math.log(seen) : 0));
  }

  /** Folds one batch's per-class mean losses into the moving averages. */
  observe(targets: ArrayLike<number>, tokenLosses: ArrayLike<number>): void {
    const sums = new Map<number, [number, number]>();
    for (let i = 0; i < targets.length; i++) {
      const c = targets[i];
      if (c < 0 || this.empirical[c] <= 0) continue;
      const s = sums.get(c) ?? [0, 0];
      s[0] += tokenLosses[i];
      s[1] += 1;
      sums.set(c, s);
    }
    const eta = this.options.emaRate;
    for (const [c, [sum, n]] of sums) this.losses[c] = (1 - eta) * this.losses[c] + eta * (sum / n);
  }

  distribution(): Float64Array {
    return worstCaseDistribution(this.reference, this.losses, this.options.radius);
  }

  /** Per-class loss weights q*_c / p_c, clipped to maxWeight; 0 for unseen classes. */
  weights(): Float64Array {
    const q = this.distribution();
    return q.map((qc, c) => (this.empirical[c] > 0 ? Math.min(this.options.maxWeight, qc / this.empirical[c]) : 0));
  }
}
