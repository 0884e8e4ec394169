import { describe, expect, it } from 'vitest';
import { sample, samplingDistribution } from '../src/core/sampling';
import { createRng } from '../src/core/random';

const probs = [0.05, 0.4, 0.3, 0.15, 0.1];

describe('sampling', () => {
  it('keeps the distribution at temperature 1 and masks excluded ids', () => {
    expect(Array.from(samplingDistribution(probs)).map((x) => +x.toFixed(6))).toEqual(probs);
    const d = samplingDistribution(probs, {}, new Set([1]));
    expect(d[1]).toBe(0);
    expect(d[2]).toBeCloseTo(0.3 / 0.6, 10);
  });

  it('top-k keeps exactly the k most likely ids; top-p the smallest set reaching p', () => {
    const k2 = samplingDistribution(probs, { topK: 2 });
    expect(Array.from(k2).map((x) => +x.toFixed(6))).toEqual([0, 0.4 / 0.7, 0.3 / 0.7, 0, 0].map((x) => +x.toFixed(6)));
    const p = samplingDistribution(probs, { topP: 0.8 });
    // 0.4 + 0.3 = 0.7 < 0.8, so 0.15 joins; 0.85 ≥ 0.8 stops.
    expect(Array.from(p).map((x) => x > 0)).toEqual([false, true, true, true, false]);
    expect(samplingDistribution(probs, { topP: 0.01 }).filter((x) => x > 0).length).toBe(1);
  });

  it('temperature sharpens or flattens: p^(1/T) renormalised', () => {
    const cold = samplingDistribution([0.2, 0.8], { temperature: 0.5 });
    expect(cold[1]).toBeCloseTo(0.64 / (0.64 + 0.04), 10);
    const hot = samplingDistribution([0.2, 0.8], { temperature: 2 });
    expect(hot[1]).toBeCloseTo(Math.sqrt(0.8) / (Math.sqrt(0.8) + Math.sqrt(0.2)), 10);
    expect(() => samplingDistribution(probs, { temperature: 0 })).toThrow('sampling: temperature must be > 0, got 0');
  });

  it('is reproducible with a seed and matches the distribution over many draws', () => {
    const draw = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 20 }, () => sample(probs, rng));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    const rng = createRng(1);
    const counts = new Array(5).fill(0);
    for (let i = 0; i < 20000; i++) counts[sample(probs, rng, { topK: 3 })]++;
    expect(counts[0] + counts[4]).toBe(0);
    expect(counts[1] / 20000).toBeCloseTo(0.4 / 0.85, 1);
    expect(sample(probs, rng, { greedy: true })).toBe(1);
  });
});

describe('unfiltered sampling fast path', () => {
  it('draws with the same distribution as the filtered path, temperature included', () => {
    const probs = [0.5, 0.3, 0.15, 0.05];
    for (const temperature of [1, 0.5, 2, 0.05]) {
      const dist = samplingDistribution(probs, { temperature }, new Set([0]));
      const counts = new Array(4).fill(0);
      const rng = createRng(11);
      for (let i = 0; i < 20000; i++) counts[sample(probs, rng, { temperature }, new Set([0]))]++;
      expect(counts[0]).toBe(0);
      for (let i = 1; i < 4; i++) expect(Math.abs(counts[i] / 20000 - dist[i])).toBeLessThan(0.015);
    }
  });
});
