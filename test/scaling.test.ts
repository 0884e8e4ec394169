import { describe, expect, it } from 'vitest';
import {
  bootstrapLaw2D,
  fitLaw1D,
  fitLaw2D,
  logR2,
  nelderMead,
  predict1D,
  predict2D,
  type Law2D,
  type ScalingPoint,
} from '../src/core/scaling';
import { createRng, normal } from '../src/core/random';

const TRUE: Law2D = { E: 1.0, A: 20, alpha: 0.4, B: 50, beta: 0.4 };
const SIZES = [2e4, 6e4, 2e5, 6e5];
const DATA = [6e3, 2.4e4, 9.6e4, 3.84e5];

function synthetic(noise: number, seeds: number[]): ScalingPoint[] {
  const rng = createRng(3);
  return seeds.flatMap((seed) =>
    SIZES.flatMap((n) =>
      DATA.map((d) => ({ n, d, seed, loss: predict2D(TRUE, n, d) * Math.exp(noise * normal(rng)) })),
    ),
  );
}

describe('scaling-law fits', () => {
  it('Nelder–Mead finds the minimum of a shifted quadratic', () => {
    const { x } = nelderMead(([a, b]) => (a - 3) ** 2 + 2 * (b + 1) ** 2, [0, 0]);
    expect(x[0]).toBeCloseTo(3, 4);
    expect(x[1]).toBeCloseTo(-1, 4);
  });

  it('recovers known exponents from exact points (within 0.02) and fits perfectly', () => {
    const points = synthetic(0, [0]);
    const { law } = fitLaw2D(points);
    expect(Math.abs(law.alpha - TRUE.alpha)).toBeLessThan(0.02);
    expect(Math.abs(law.beta - TRUE.beta)).toBeLessThan(0.02);
    expect(Math.abs(law.E - TRUE.E)).toBeLessThan(0.05);
    expect(
      logR2(
        points.map((p) => predict2D(law, p.n, p.d)),
        points.map((p) => p.loss),
      ),
    ).toBeGreaterThan(0.9999);
  });

  it('recovers exponents within 0.1 from points with 1% noise, and the bootstrap interval covers the truth', () => {
    const points = synthetic(0.01, [0, 1, 2]);
    const boot = bootstrapLaw2D(points, 8, 1);
    expect(Math.abs(boot.alpha.estimate - TRUE.alpha)).toBeLessThan(0.1);
    expect(Math.abs(boot.beta.estimate - TRUE.beta)).toBeLessThan(0.1);
    expect(boot.alpha.low).toBeLessThanOrEqual(boot.alpha.high);
    expect(boot.beta.low - 0.05).toBeLessThanOrEqual(TRUE.beta);
    expect(boot.beta.high + 0.05).toBeGreaterThanOrEqual(TRUE.beta);
  }, 60_000);

  it('fits a 1-D power law with an irreducible term', () => {
    const xs = [1e3, 3e3, 1e4, 3e4, 1e5, 3e5];
    const losses = xs.map((x) => predict1D({ E: 0.8, A: 12, alpha: 0.5 }, x));
    const { law } = fitLaw1D(xs, losses);
    expect(law.alpha).toBeCloseTo(0.5, 2);
    expect(law.E).toBeCloseTo(0.8, 2);
    expect(() => fitLaw1D([1, 2], [3, 2])).toThrow('scaling fit: 2 points for 3 parameters');
  });
});
