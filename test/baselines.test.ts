import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UNKNOWN_LOCATION, type BehaviorEvent, type BehaviorSequence } from '../src/core/events';
import { BOS, PAD, UNK, Vocabulary } from '../src/core/vocab';
import { MISS, rankingMetrics } from '../src/core/metrics';
import { fitMarkov, fitPopularity, fitTimePopularity } from '../src/core/baselines';
import { forEachTarget, fullMetrics, headTailMetrics, rankTargets } from '../src/core/evaluation';
import { splitSequences } from '../src/core/data';
import { DEFAULT_DATA_DIR, loadRegion } from '../src/node/data';

const ev = (behavior: string, weekday = 0, slot = 0): BehaviorEvent => ({
  behavior,
  weekday,
  slot,
  location: UNKNOWN_LOCATION,
});
const seq = (id: string, ...events: (string | BehaviorEvent)[]): BehaviorSequence => ({
  id,
  events: events.map((e) => (typeof e === 'string' ? ev(e) : e)),
});
const vocabOf = (train: BehaviorSequence[]) =>
  Vocabulary.fromNames(
    train.flatMap((s) => s.events.map((e) => e.behavior)),
    [PAD, BOS, UNK],
  );
/** Scores by behavior name (specials dropped), for readable expectations. */
const byName = (vocab: Vocabulary, scores: Float64Array) =>
  Object.fromEntries(vocab.tokens.map((t, i) => [t, scores[i]] as const).filter((_, i) => !vocab.isSpecial(i)));
const ctx = (weekday = 0, slot = 0) => ({ weekday, slot, location: UNKNOWN_LOCATION });

describe('popularity', () => {
  const train = [seq('a', 'A', 'B', 'A', 'C', 'A', 'B')];
  const vocab = vocabOf(train);

  it('scores the global training frequency', () => {
    const scores = fitPopularity(train, vocab).score([], ctx());
    expect(byName(vocab, scores)).toEqual({ A: 3 / 6, B: 2 / 6, C: 1 / 6 });
    expect([0, 1, 2].map((i) => scores[i])).toEqual([0, 0, 0]);
  });

  it('ranks targets from position 1; a behavior outside the vocabulary is a miss', () => {
    const test = [seq('t', 'X', 'A', 'B', 'C', 'D')];
    expect(rankTargets(fitPopularity(train, vocab), test, vocab)).toEqual([
      { behavior: 'A', rank: 1 },
      { behavior: 'B', rank: 2 },
      { behavior: 'C', rank: 3 },
      { behavior: 'D', rank: MISS },
    ]);
    const noB = rankTargets(fitPopularity(train, vocab), test, vocab, {
      includeTarget: (b) => b !== 'B',
      minPosition: 2,
    });
    expect(noB).toEqual([
      { behavior: 'C', rank: 3 },
      { behavior: 'D', rank: MISS },
    ]);
  });
});

describe('time popularity', () => {
  // Global: A 2, B 3, C 1 (of 6). Cell (0, 0) holds only A; cell (1, 3) holds B and C.
  const train = [seq('a', ev('A', 0, 0), ev('B', 1, 3), ev('A', 0, 0), ev('B', 1, 3), ev('C', 1, 3), ev('B', 1, 3))];
  const vocab = vocabOf(train);

  it("prefers the behavior frequent at the target's weekday × slot, smoothed towards global", () => {
    const scorer = fitTimePopularity(train, vocab, { smoothing: 1 });
    // (count + λ·p_global) / (2 + λ)
    const s = byName(vocab, scorer.score([ev('B', 1, 3)], ctx(0, 0)));
    expect(s.A).toBeCloseTo((2 + 1 / 3) / 3, 12);
    expect(s.B).toBeCloseTo(1 / 2 / 3, 12);
    expect(s.C).toBeCloseTo(1 / 6 / 3, 12);
    const test = [seq('t', ev('B', 1, 3), ev('A', 0, 0), ev('B', 0, 0), ev('C', 0, 0))];
    expect(rankTargets(scorer, test, vocab).map((t) => t.rank)).toEqual([1, 2, 3]);
  });

  it('backs off to global popularity at an unseen weekday × slot', () => {
    const s = byName(vocab, fitTimePopularity(train, vocab).score([], ctx(6, 7)));
    expect(s).toEqual({ B: 3 / 6, A: 2 / 6, C: 1 / 6 });
  });
});

describe('Markov chains', () => {
  it('order 1 predicts the most frequent successor of the last behavior', () => {
    // Transitions: A→B ×2, A→C, B→A ×2. Global: A 3, B 2, C 1 (of 6).
    const train = [seq('a', 'A', 'B', 'A', 'B', 'A', 'C')];
    const vocab = vocabOf(train);
    const scorer = fitMarkov(train, vocab, 1, { smoothing: 1 });
    const s = byName(vocab, scorer.score([ev('C'), ev('A')], ctx()));
    expect(s.B).toBeCloseTo((2 + 2 / 6) / 4, 12);
    expect(s.C).toBeCloseTo((1 + 1 / 6) / 4, 12);
    expect(s.A).toBeCloseTo(3 / 6 / 4, 12);
    // Empty history and an unseen last behavior fall back to popularity.
    expect(byName(vocab, scorer.score([], ctx()))).toEqual({ A: 3 / 6, B: 2 / 6, C: 1 / 6 });
    expect(byName(vocab, scorer.score([ev('never seen')], ctx()))).toEqual({ A: 3 / 6, B: 2 / 6, C: 1 / 6 });
  });

  describe('order 2', () => {
    // After B: C ×2 (from A,B) and D ×3 (from X,B). Global: A 2, B 5, C 2, X 3, D 3 (of 15).
    const train = [
      seq('1', 'A', 'B', 'C'),
      seq('2', 'A', 'B', 'C'),
      seq('3', 'X', 'B', 'D'),
      seq('4', 'X', 'B', 'D'),
      seq('5', 'X', 'B', 'D'),
    ];
    const vocab = vocabOf(train);
    const p1AfterB = { A: 2 / 15 / 6, B: 5 / 15 / 6, C: (2 + 2 / 15) / 6, X: 3 / 15 / 6, D: (3 + 3 / 15) / 6 };

    it('uses the pair of previous behaviors, backed off to order 1', () => {
      const s = byName(vocab, fitMarkov(train, vocab, 2, { smoothing: 1 }).score([ev('A'), ev('B')], ctx()));
      for (const [name, p1] of Object.entries(p1AfterB)) {
        expect(s[name]).toBeCloseTo(((name === 'C' ? 2 : 0) + p1) / 3, 12);
      }
      const test = [seq('t', 'A', 'B', 'C')];
      expect(rankTargets(fitMarkov(train, vocab, 2), test, vocab).map((t) => t.rank)).toEqual([1, 1]);
      expect(rankTargets(fitMarkov(train, vocab, 1), test, vocab).map((t) => t.rank)).toEqual([1, 2]);
    });

    it('backs off to order 1 when the pair is unseen or the history has one event', () => {
      const scorer = fitMarkov(train, vocab, 2, { smoothing: 1 });
      for (const history of [[ev('C'), ev('B')], [ev('B')]]) {
        const s = byName(vocab, scorer.score(history, ctx()));
        for (const [name, p1] of Object.entries(p1AfterB)) expect(s[name]).toBeCloseTo(p1, 12);
      }
    });
  });

  it('rejects a negative smoothing', () => {
    expect(() => fitMarkov([], vocabOf([]), 1, { smoothing: -1 })).toThrow(
      'smoothing must be a finite number ≥ 0, got -1',
    );
  });
});

describe('evaluation helpers', () => {
  it('forEachTarget skips position 0 (and positions below minPosition)', () => {
    const seen: string[] = [];
    forEachTarget([seq('a', 'A', 'B', 'C'), seq('b', 'D')], undefined, (s, t) => seen.push(`${s.id}${t}`));
    expect(seen).toEqual(['a1', 'a2']);
    seen.length = 0;
    forEachTarget([seq('a', 'A', 'B', 'C')], 0, (s, t) => seen.push(`${s.id}${t}`));
    expect(seen).toEqual(['a0', 'a1', 'a2']);
  });

  it('rankTargets gives a scorer the history before t and only the time of event t', () => {
    const calls: unknown[] = [];
    const vocab = vocabOf([seq('a', 'A', 'B')]);
    const spy = {
      name: 'spy',
      score: (history: readonly BehaviorEvent[], next: object) => {
        calls.push([history.map((e) => e.behavior), next]);
        return new Float64Array(vocab.size);
      },
    };
    const ranks = rankTargets(spy, [seq('t', ev('A', 1, 2), ev('B', 3, 4), ev('A', 5, 6))], vocab);
    expect(calls).toEqual([
      [['A'], ctx(3, 4)],
      [['A', 'B'], ctx(5, 6)],
    ]);
    expect(ranks.map((t) => t.rank)).toEqual([2, 2]); // all scores tie: ties count against the target
  });

  it('headTailMetrics: recall@5 within head targets and within the rest (unseen behaviors are tail)', () => {
    const targets = [
      { behavior: 'a', rank: 1 },
      { behavior: 'a', rank: 7 },
      { behavior: 'b', rank: 5 },
      { behavior: 'never in train', rank: MISS },
      { behavior: 'z', rank: 2 },
    ];
    const head = new Set(['a', 'b']);
    expect(headTailMetrics(targets, head)).toEqual({ 'head_recall@5': 2 / 3, 'tail_recall@5': 1 / 2 });
    expect(headTailMetrics(targets.slice(0, 2), head)['tail_recall@5']).toBeNaN();
    expect(fullMetrics(targets, head)).toEqual({
      ...rankingMetrics(targets),
      'head_recall@5': 2 / 3,
      'tail_recall@5': 1 / 2,
    });
  });
});

describe.skipIf(!existsSync(join(DEFAULT_DATA_DIR, 'us.csv.gz')))('baselines on the US data', () => {
  it('popularity hits exactly the most frequent train behavior; Markov-1 beats it', () => {
    const sequences = loadRegion('us').sequences;
    const train = splitSequences(sequences, 'train');
    const test = splitSequences(sequences, 'test');
    const vocab = vocabOf(train);

    const counts = new Map<string, number>();
    for (const s of train) for (const e of s.events) counts.set(e.behavior, (counts.get(e.behavior) ?? 0) + 1);
    const [top, second] = [...counts.values()].sort((a, b) => b - a);
    expect(top).toBeGreaterThan(second); // a unique winner, so the share below is exact
    const topName = [...counts].find(([, c]) => c === top)![0];
    const targets = test.flatMap((s) => s.events.slice(1));
    const share = targets.filter((e) => e.behavior === topName).length / targets.length;

    const popularity = rankingMetrics(rankTargets(fitPopularity(train, vocab), test, vocab));
    expect(popularity.targets).toBe(targets.length);
    expect(popularity['weighted_recall@1']).toBeCloseTo(share, 12);
    const markov = rankingMetrics(rankTargets(fitMarkov(train, vocab, 1), test, vocab));
    expect(markov['weighted_recall@1']).toBeGreaterThan(popularity['weighted_recall@1']);
  });
});
