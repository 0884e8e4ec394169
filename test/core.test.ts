import { describe, expect, it } from 'vitest';
import { BOS, PAD, UNK, Vocabulary } from '../src/core/vocab';
import { dequantizeUint8, quantizationErrorBound, quantizeUint8 } from '../src/core/quantize';
import { MISS, headBehaviors, rankOf, rankingMetrics, type RankedTarget } from '../src/core/metrics';
import { bootstrapInterval, relativeGainInterval } from '../src/core/bootstrap';
import { topK } from '../src/core/sampling';
import { createRng } from '../src/core/random';

describe('Vocabulary', () => {
  it('orders names by frequency after the specials and round-trips through JSON', () => {
    const v = Vocabulary.fromNames(['b', 'a', 'b', 'c', 'b', 'a'], [PAD, BOS, UNK]);
    expect(v.tokens).toEqual([PAD, BOS, UNK, 'b', 'a', 'c']);
    expect(v.counts).toEqual([0, 0, 0, 3, 2, 1]);
    const back = Vocabulary.fromJSON(JSON.parse(JSON.stringify(v)));
    expect(back.tokens).toEqual(v.tokens);
    expect(back.counts).toEqual(v.counts);
    for (const name of ['a', 'b', 'c']) expect(back.name(back.id(name))).toBe(name);
  });

  it('maps unknown names to <unk>, flags specials, and extends by appending', () => {
    const v = Vocabulary.fromNames(['x', 'y'], [PAD, BOS, UNK]);
    expect(v.id('never seen')).toBe(2);
    expect([0, 1, 2, 3].map((i) => v.isSpecial(i))).toEqual([true, true, true, false]);
    const w = v.extend(['z', 'x']);
    expect(w.tokens).toEqual([...v.tokens, 'z']);
    expect(w.id('x')).toBe(v.id('x'));
    expect(() => new Vocabulary(['a', 'a'])).toThrow('vocabulary: duplicate token "a" at 0 and 1');
    expect(() => new Vocabulary(['a']).id('b')).toThrow('vocabulary: unknown token "b"');
  });
});

describe('quantizeUint8', () => {
  it('reconstructs every value within half a quantization step', () => {
    const rng = createRng(1);
    const values = Float32Array.from({ length: 5000 }, () => (rng() - 0.3) * 0.8);
    const { bytes, quantization } = quantizeUint8(values);
    const back = dequantizeUint8(bytes, quantization);
    const bound = quantizationErrorBound(quantization);
    expect(bound).toBeCloseTo(0.8 / 255 / 2, 4);
    let worst = 0;
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i] - back[i]));
    expect(worst).toBeLessThanOrEqual(bound * 1.0001);
    expect(worst).toBeGreaterThan(bound * 0.5); // the bound is tight, not vacuous
  });

  it('handles constant tensors and rejects non-finite weights', () => {
    const { bytes, quantization } = quantizeUint8(new Float32Array([0.5, 0.5]));
    expect(Array.from(dequantizeUint8(bytes, quantization))).toEqual([0.5, 0.5]);
    expect(() => quantizeUint8(new Float32Array([1, NaN]))).toThrow('quantize: non-finite weight');
  });
});

describe('ranking metrics', () => {
  it('ranks ties against the target', () => {
    expect(rankOf([0.1, 0.5, 0.2, 0.2], 2, [0, 1, 2, 3])).toBe(3);
    expect(rankOf([0.1, 0.5, 0.2, 0.2], 1, [0, 1, 2, 3])).toBe(1);
    expect(rankOf([0.9, 0.5, 0.2], 1, [1, 2])).toBe(1); // id 0 is not a candidate
  });

  it('computes weighted and macro recall, NDCG and MRR by hand', () => {
    const m = rankingMetrics([
      { behavior: 'a', rank: 1 },
      { behavior: 'a', rank: 1 },
      { behavior: 'a', rank: 3 },
      { behavior: 'b', rank: 7 },
      { behavior: 'c', rank: MISS },
    ]);
    expect(m['weighted_recall@1']).toBeCloseTo(2 / 5);
    expect(m['weighted_recall@5']).toBeCloseTo(3 / 5);
    expect(m['weighted_recall@10']).toBeCloseTo(4 / 5);
    expect(m['macro_recall@1']).toBeCloseTo((2 / 3 + 0 + 0) / 3);
    expect(m['macro_recall@5']).toBeCloseTo((1 + 0 + 0) / 3);
    expect(m['macro_recall@10']).toBeCloseTo((1 + 1 + 0) / 3);
    expect(m['ndcg@10']).toBeCloseTo((1 + 1 + 1 / Math.log2(4) + 1 / Math.log2(8)) / 5);
    expect(m.mrr).toBeCloseTo((1 + 1 + 1 / 3 + 1 / 7 + 0) / 5);
  });

  it('splits head behaviors at 80% of events', () => {
    const counts = new Map([
      ['a', 50],
      ['b', 30],
      ['c', 15],
      ['d', 5],
    ]);
    expect([...headBehaviors(counts)]).toEqual(['a', 'b']);
  });
});

describe('topK', () => {
  it('returns the largest values first, skipping excluded ids, ties by id', () => {
    expect(topK([0.1, 0.4, 0.2, 0.4, 0.05], 3, new Set([1]))).toEqual([3, 2, 0]);
    expect(topK([0.3, 0.3], 5)).toEqual([0, 1]);
  });
});

describe('paired bootstrap over sequences', () => {
  const target = (behavior: string, rank: number): RankedTarget => ({ behavior, rank });
  it('gives the estimate on the split as it is and an interval around it', () => {
    const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const mean = (draw: Int32Array) => [...draw].reduce((s, i) => s + values[i], 0) / draw.length;
    const r = bootstrapInterval(values.length, mean, { resamples: 2000, seed: 1, threshold: 5.5 });
    expect(r.estimate).toBe(5.5);
    expect(r.low).toBeLessThan(5.5);
    expect(r.high).toBeGreaterThan(5.5);
    // The standard error of a mean of 10 values with sd 3.03 is 0.91: the 95% interval is about ±1.8.
    expect(r.high - r.low).toBeGreaterThan(2.8);
    expect(r.high - r.low).toBeLessThan(4.4);
    expect(r.shareAtLeast).toBeGreaterThan(0.4);
    expect(r.shareAtLeast).toBeLessThan(0.6);
    expect(bootstrapInterval(values.length, mean, { resamples: 2000, seed: 1 })).toEqual({
      ...r,
      shareAtLeast: undefined,
    });
  });
  it('pairs the arms: identical models have no spread, a uniformly better arm stays better', () => {
    const seqs = Array.from({ length: 30 }, (_, s) => [
      target(`b${s % 5}`, (s % 3) + 1),
      target(`b${(s + 1) % 5}`, s % 7 === 0 ? 9 : 2),
    ]);
    const same = relativeGainInterval([seqs, seqs], [seqs], 'macro_recall@5', { resamples: 200 });
    expect([same.estimate, same.low, same.high]).toEqual([0, 0, 0]);
    const better = seqs.map((targets) => targets.map((t) => ({ ...t, rank: 1 })));
    const gain = relativeGainInterval([better], [seqs], 'macro_recall@1', { resamples: 200, threshold: 0.1 });
    expect(gain.estimate).toBeGreaterThan(0.5);
    expect(gain.low).toBeGreaterThan(0);
    expect(gain.shareAtLeast).toBe(1);
  });
  it('refuses models scored on different sequences', () => {
    expect(() =>
      relativeGainInterval([[[target('a', 1)]]], [[[target('a', 1)], [target('a', 2)]]], 'macro_recall@5'),
    ).toThrow('same sequences');
    expect(() => bootstrapInterval(0, () => 0)).toThrow('no sequences');
  });
});
