import { describe, expect, it } from 'vitest';
import {
  distinctN,
  fitSlotDeltas,
  generateWithBaseline,
  jensenShannon,
  poolCounts,
  realismCounts,
  realismMetrics,
  targetDivergences,
} from '../src/core/realism';
import { marginalCorrection } from '../src/core/calibration';
import { fitMarkov } from '../src/core/baselines';
import { createRng } from '../src/core/random';
import { slotDelta } from '../src/core/time';
import { behaviors, events, NAMES } from './helpers';

const m = (o: Record<string, number>) => new Map(Object.entries(o));

describe('realism metrics', () => {
  it('Jensen–Shannon divergence: 0 for equal, 1 for disjoint, hand-computed in between', () => {
    expect(jensenShannon(m({ a: 2, b: 2 }), m({ a: 1, b: 1 }))).toBeCloseTo(0, 12);
    expect(jensenShannon(m({ a: 1 }), m({ b: 5 }))).toBeCloseTo(1, 12);
    // p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4); JSD = ½·log2(4/3) + ½·(½·log2(2/3) + ½·log2(2)).
    const expected = 0.5 * Math.log2(4 / 3) + 0.5 * (0.5 * Math.log2(0.5 / 0.75) + 0.5 * Math.log2(0.5 / 0.25));
    expect(jensenShannon(m({ a: 3 }), m({ a: 1, b: 1 }))).toBeCloseTo(expected, 12);
    expect(() => jensenShannon(m({}), m({ a: 1 }))).toThrow('jensenShannon: an empty distribution');
  });

  it('per-sequence count tables pool to the whole (the bootstrap resamples them), repeats included', () => {
    const ev = (names: string[], slot = 0) => names.map((behavior) => ({ behavior, weekday: 1, slot, location: 'x' }));
    const real = [
      { prefix: ev(['a']), events: ev(['b', 'a'], 2) },
      { prefix: ev(['b']), events: ev(['b', 'c'], 3) },
    ];
    const generated = [
      { prefix: ev(['a']), events: ev(['a', 'a'], 2) },
      { prefix: ev(['b']), events: ev(['c', 'c'], 5) },
    ];
    const pooled = poolCounts(real.map((c) => realismCounts([c])));
    expect(pooled).toEqual(realismCounts(real));
    expect(pooled.transition).toEqual(
      new Map([
        ['a\u2192b', 1],
        ['b\u2192a', 1],
        ['b\u2192b', 1],
        ['b\u2192c', 1],
      ]),
    );
    const metrics = realismMetrics(generated, real, new Set(['a']));
    const split = targetDivergences(poolCounts(generated.map((c) => realismCounts([c]))), pooled);
    expect(split).toEqual({
      jsd_behavior: metrics.jsd_behavior,
      jsd_transition: metrics.jsd_transition,
      jsd_time: metrics.jsd_time,
    });
    expect(split.jsd_behavior).toBeGreaterThan(0);
    // A resample that repeats the first sequence counts its events twice.
    const twice = poolCounts([realismCounts([real[0]]), realismCounts([real[0]])]);
    expect(twice.behavior).toEqual(
      new Map([
        ['b', 2],
        ['a', 2],
      ]),
    );
  });

  it('distinct-n counts n-grams inside each continuation only', () => {
    const ev = (names: string[]) => names.map((behavior) => ({ behavior, weekday: 0, slot: 0, location: 'x' }));
    const cs = [
      { prefix: [], events: ev(['a', 'b', 'a', 'b']) }, // bigrams ab, ba, ab
      { prefix: [], events: ev(['b', 'a']) }, // ba
    ];
    expect(distinctN(cs, 2)).toBeCloseTo(2 / 4, 12);
    expect(distinctN(cs, 3)).toBeCloseTo(2 / 2, 12); // aba, bab
  });

  it('real data against itself: zero divergences; the prefix → first event transition counts', () => {
    const real = [
      { prefix: events(3), events: events(6, 3) },
      { prefix: events(2, 1), events: events(4, 7) },
    ];
    const head = new Set([NAMES[0], NAMES[1]]);
    const r = realismMetrics(real, real, head);
    expect([r.jsd_behavior, r.jsd_transition, r.jsd_time, r.jsd_device]).toEqual([0, 0, 0, 0]);
    const tail = real.flatMap((c) => c.events).filter((e) => !head.has(e.behavior)).length / 10;
    expect(r.tail_share).toBeCloseTo(tail, 12);
    // Same events, different prefix ends: only the transitions differ.
    const shifted = real.map((c) => ({ ...c, prefix: events(1, 5) }));
    const s = realismMetrics(shifted, real, head);
    expect(s.jsd_behavior).toBe(0);
    expect(s.jsd_transition).toBeGreaterThan(0);
  });
});

describe('baseline generators', () => {
  const train = [{ id: 't', events: [...events(12), ...events(12)] }];

  it('slot deltas given the previous behavior follow the training deltas', () => {
    const deltas = fitSlotDeltas(train, 'previous-behavior', 0);
    const e = train[0].events;
    const row = deltas([e[0]]);
    expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // Every training transition out of e[0]'s behavior has this delta.
    const expected = slotDelta(e[0], e[1]);
    expect(row[expected]).toBeGreaterThan(0.5);
  });

  it('is reproducible per seed and starts at the given time without a prefix', () => {
    const markov = fitMarkov(train, behaviors, 2);
    const deltas = fitSlotDeltas(train, 'none');
    const a = generateWithBaseline(markov, deltas, behaviors, [], 20, createRng(4), {
      weekday: 3,
      slot: 6,
      location: 'home',
    });
    const b = generateWithBaseline(markov, deltas, behaviors, [], 20, createRng(4), {
      weekday: 3,
      slot: 6,
      location: 'home',
    });
    expect(a).toEqual(b);
    expect(a).toHaveLength(20);
    expect([a[0].weekday, a[0].slot]).toEqual([3, 6]);
    for (const e of a) expect(behaviors.isSpecial(behaviors.id(e.behavior))).toBe(false);
  });
});

describe('sampling correction for reweighted models', () => {
  it('maps the mean predicted distribution back onto the (add-one smoothed) empirical frequencies', () => {
    const names = behaviors.tokens.filter((_, i) => !behaviors.isSpecial(i));
    const counts = new Map(names.map((n, i) => [n, (i + 1) * 10]));
    // A "DRO-like" model that over-predicts rare behaviors: mean prediction uniform.
    const mean = new Float64Array(behaviors.size);
    for (const n of names) mean[behaviors.id(n)] = 1 / names.length;
    const c = marginalCorrection(mean, counts, behaviors);
    expect(Object.keys(c)).toEqual(names);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const corrected = names.map((n) => mean[behaviors.id(n)] * Math.exp(c[n]));
    const z = corrected.reduce((a, b) => a + b, 0);
    for (const [i, n] of names.entries())
      expect(corrected[i] / z).toBeCloseTo((counts.get(n)! + 1) / (total + names.length), 3);
    // Rarer than predicted → negative correction; more frequent → positive.
    expect(c[names[0]]).toBeLessThan(0);
    expect(c[names[names.length - 1]]).toBeGreaterThan(0);
  });
});
