/**
 * Measuring explanations instead of trusting them (docs/EXPLAIN.md, `npm run explain-eval`). Node
 * and the browser alike: no tfjs, only the plain-JS decoder behind model/explain.ts.
 *
 * - Deletion test: at every position of a split with enough history, remove the k events a
 *   method ranks most influential (occlusion, attention), k random events or the k most recent,
 *   and see how far the probability of the target falls and how often the top-1 changes. A
 *   faithful ranking removes what the prediction rests on, so its fall is the largest.
 * - Removal choice (valid only): which `Removal` leaves an input the model treats like data.
 * - Week check: are the "when" heatmaps, averaged over the split's histories, like the real
 *   weekday × slot distribution of each behavior?
 */
import { knownId, type Scorer } from '../../core/baselines';
import { bootstrapIntervals, type BootstrapInterval } from '../../core/bootstrap';
import {
  cellTable,
  randomEvents,
  recentEvents,
  topEvents,
  WEEK_CELLS,
  cellTime,
  type Removal,
} from '../../core/explain';
import { UNKNOWN_LOCATION, type BehaviorSequence } from '../../core/events';
import { createRng } from '../../core/random';
import { jensenShannon } from '../../core/realism';
import { topK } from '../../core/sampling';
import { weekSlot } from '../../core/time';
import type { Vocabulary } from '../../core/vocab';
import type { Explainer } from '../../model/explain';

export const DELETION_METHODS = ['occlusion', 'attention', 'random', 'recent'] as const;
export type DeletionMethod = (typeof DELETION_METHODS)[number];
/** Whose probability is watched: the model's own top-1 on the whole history (what the app explains by default), or the event that really came next. */
export const DELETION_TARGETS = ['predicted', 'observed'] as const;
export type DeletionTarget = (typeof DELETION_TARGETS)[number];

export interface DeletionOptions {
  ks: readonly number[];
  removal: Removal;
  /** Positions need at least this many events in the model's window (default: the largest k + 1, so one always stays). */
  minHistory?: number;
  /** Random draws per position for the random method (its figures are the mean over draws). */
  randomDraws?: number;
  seed?: number;
  /** Only the first N positions (quick checks). */
  limit?: number;
}

/** Per-sequence sums, so that the figures can be bootstrapped over sequences. */
export interface DeletionTally {
  /** Sum over the sequence's positions of P(target | history) − P(target | history without the k events). */
  drop: Float64Array;
  /** Number of its positions whose top-1 changed (random: the mean over draws). */
  changed: Float64Array;
}

export interface DeletionResult {
  removal: Removal;
  ks: number[];
  positions: number;
  sequences: number;
  /** Positions per sequence (index = the sequence's order in the input). */
  count: Float64Array;
  /** Mean probability of each target on the whole history. */
  baseProbability: Record<DeletionTarget, number>;
  /** Positions whose observed next event is one the model knows (the others have no observed target). */
  observedPositions: number;
  observedCount: Float64Array;
  tallies: Record<DeletionTarget, Record<DeletionMethod, DeletionTally[]>>;
}

/**
 * The deletion test over `sequences`: every position t whose window (the last contextLength − 1
 * events before t) holds at least minHistory events. For each position and k, each method's k
 * events are removed the same way (`options.removal`) and the prediction recomputed.
 */
export function deletionTest(
  explainer: Explainer,
  sequences: readonly BehaviorSequence[],
  behaviors: Vocabulary,
  options: DeletionOptions,
): DeletionResult {
  const ks = [...options.ks];
  const maxK = Math.max(...ks);
  const minHistory = options.minHistory ?? maxK + 1;
  const draws = options.randomDraws ?? 5;
  const exclude = new Set(behaviors.tokens.map((_, i) => i).filter((i) => behaviors.isSpecial(i)));
  const S = sequences.length;
  const tallies = Object.fromEntries(
    DELETION_TARGETS.map((t) => [
      t,
      Object.fromEntries(
        DELETION_METHODS.map((m) => [m, ks.map(() => ({ drop: new Float64Array(S), changed: new Float64Array(S) }))]),
      ),
    ]),
  ) as DeletionResult['tallies'];
  const count = new Float64Array(S);
  const observedCount = new Float64Array(S);
  const base = { predicted: 0, observed: 0 };
  let positions = 0;
  const top1 = (p: ArrayLike<number>) => topK(p, 1, exclude)[0];
  outer: for (let s = 0; s < S; s++) {
    const events = sequences[s].events;
    for (let t = 1; t < events.length; t++) {
      const history = events.slice(0, t);
      const offset = explainer.windowStart(history);
      const n = history.length - offset;
      if (n < minHistory) continue;
      if (options.limit !== undefined && positions >= options.limit) break outer;
      const next = events[t];
      const { full, without } = explainer.occlusion(history, next, options.removal);
      const fullTop = top1(full);
      const observed = knownId(behaviors, next.behavior);
      const targets: [DeletionTarget, number][] = [['predicted', fullTop]];
      if (observed >= 0) targets.push(['observed', observed]);
      const attention = explainer.attention(history).score;
      // Distinct removal sets are recomputed once per position (several methods often agree).
      const memo = new Map<string, Float32Array>();
      const withoutSet = (windowIndices: number[]) => {
        const key = [...windowIndices].sort((a, b) => a - b).join(',');
        const known = memo.get(key);
        if (known) return known;
        const p = explainer.probabilitiesWithout(
          history,
          next,
          windowIndices.map((i) => offset + i),
          options.removal,
        );
        memo.set(key, p);
        return p;
      };
      const rng = createRng((options.seed ?? 0) * 1_000_003 + positions);
      const randomSets = ks.map((k) => Array.from({ length: draws }, () => randomEvents(n, k, rng)));
      for (const [target, id] of targets) {
        const occlusionScores = without.map((p) => full[id] - p[id]);
        ks.forEach((k, ki) => {
          const sets: Record<DeletionMethod, number[][]> = {
            occlusion: [topEvents(occlusionScores, k)],
            attention: [topEvents(attention, k)],
            random: randomSets[ki],
            recent: [recentEvents(n, k)],
          };
          for (const method of DELETION_METHODS) {
            let drop = 0;
            let changed = 0;
            for (const set of sets[method]) {
              const p = withoutSet(set);
              drop += full[id] - p[id];
              changed += top1(p) !== fullTop ? 1 : 0;
            }
            const tally = tallies[target][method][ki];
            tally.drop[s] += drop / sets[method].length;
            tally.changed[s] += changed / sets[method].length;
          }
        });
        base[target] += full[id];
      }
      count[s]++;
      if (observed >= 0) observedCount[s]++;
      positions++;
    }
  }
  const observedPositions = observedCount.reduce((a, b) => a + b, 0);
  return {
    removal: options.removal,
    ks,
    positions,
    sequences: count.filter((c) => c > 0).length,
    count,
    baseProbability: { predicted: base.predicted / positions, observed: base.observed / observedPositions },
    observedPositions,
    observedCount,
    tallies,
  };
}

export interface DeletionFigure {
  target: DeletionTarget;
  method: DeletionMethod;
  k: number;
  /** Mean fall of the target's probability, with its 95% bootstrap interval over sequences. */
  drop: BootstrapInterval;
  /** Share of positions whose top-1 changed. */
  changed: BootstrapInterval;
}

export interface DeletionComparison {
  target: DeletionTarget;
  k: number;
  /** e.g. "occlusion − random". */
  name: string;
  /** Difference of mean probability falls, paired over the same bootstrap draws. */
  drop: BootstrapInterval;
}

/** Means with paired bootstrap intervals over sequences, and the differences each faithful method must win. */
export function summarizeDeletion(
  result: DeletionResult,
  options: { resamples?: number; seed?: number } = {},
): { figures: DeletionFigure[]; comparisons: DeletionComparison[] } {
  const figures: DeletionFigure[] = [];
  const comparisons: DeletionComparison[] = [];
  const pairs: [DeletionMethod, DeletionMethod][] = [
    ['occlusion', 'random'],
    ['occlusion', 'recent'],
    ['attention', 'random'],
    ['attention', 'recent'],
    ['occlusion', 'attention'],
  ];
  for (const target of DELETION_TARGETS) {
    const counts = target === 'predicted' ? result.count : result.observedCount;
    result.ks.forEach((k, ki) => {
      const mean = (values: Float64Array, draw: Int32Array) => {
        let sum = 0;
        let n = 0;
        for (const s of draw) {
          sum += values[s];
          n += counts[s];
        }
        return sum / n;
      };
      const intervals = bootstrapIntervals(
        counts.length,
        (draw) => {
          const out: Record<string, number> = {};
          for (const method of DELETION_METHODS) {
            const tally = result.tallies[target][method][ki];
            out[`${method} drop`] = mean(tally.drop, draw);
            out[`${method} changed`] = mean(tally.changed, draw);
          }
          for (const [a, b] of pairs) out[`${a} − ${b}`] = out[`${a} drop`] - out[`${b} drop`];
          return out;
        },
        { resamples: options.resamples ?? 1000, seed: options.seed ?? 0 },
      );
      for (const method of DELETION_METHODS)
        figures.push({ target, method, k, drop: intervals[`${method} drop`], changed: intervals[`${method} changed`] });
      for (const [a, b] of pairs) comparisons.push({ target, k, name: `${a} − ${b}`, drop: intervals[`${a} − ${b}`] });
    });
  }
  return { figures, comparisons };
}

/**
 * The removal choice on valid: mean log-probability of the true next event when one random
 * event of the window is removed (the same event for both removals), and with nothing removed.
 * The higher, the more the removed input is like the data the model was trained on.
 */
export function removalLikelihood(
  explainer: Explainer,
  sequences: readonly BehaviorSequence[],
  behaviors: Vocabulary,
  removals: readonly Removal[],
  seed = 0,
): { positions: number; full: number; removed: Record<Removal, number> } {
  const rng = createRng(seed);
  const sums = Object.fromEntries(removals.map((r) => [r, 0])) as Record<Removal, number>;
  let full = 0;
  let positions = 0;
  const logp = (p: number) => Math.log(Math.max(p, 1e-12));
  for (const { events } of sequences) {
    for (let t = 1; t < events.length; t++) {
      const id = knownId(behaviors, events[t].behavior);
      if (id < 0) continue;
      const history = events.slice(0, t);
      const offset = explainer.windowStart(history);
      const removed = offset + Math.floor(rng() * (history.length - offset));
      full += logp(explainer.probabilities(history, events[t])[id]);
      for (const r of removals) sums[r] += logp(explainer.probabilitiesWithout(history, events[t], [removed], r)[id]);
      positions++;
    }
  }
  return {
    positions,
    full: full / positions,
    removed: Object.fromEntries(removals.map((r) => [r, sums[r] / positions])) as Record<Removal, number>,
  };
}

/** Summed week grids over a split, per behavior (rows: vocabulary ids; 56 cells each). */
export interface WeekTotals {
  positions: number;
  /** Σ over histories of P(b | history, next event in the cell): the averaged heatmap (× positions). */
  conditional: Float64Array[];
  /** Σ over histories of P(next event in the cell | history) · P(b | history, cell): the joint. */
  joint: Float64Array[];
  /** Observed next events per behavior and cell. */
  observed: Float64Array[];
  /** Observed next events per cell, any behavior. */
  observedCells: Float64Array;
}

/**
 * The week grids at every position t ≥ 1 of `sequences` (the standard protocol's targets): the
 * heatmap of every behavior from one hidden state, the time head's cells, and the real next event.
 * Positions are scored with the next event's own place (its location).
 */
export function weekTotals(
  explainer: Explainer,
  sequences: readonly BehaviorSequence[],
  behaviors: Vocabulary,
  limit = Infinity,
): WeekTotals {
  const V = behaviors.size;
  const grid = () => Array.from({ length: V }, () => new Float64Array(WEEK_CELLS));
  const totals: WeekTotals = {
    positions: 0,
    conditional: grid(),
    joint: grid(),
    observed: grid(),
    observedCells: new Float64Array(WEEK_CELLS),
  };
  outer: for (const { events } of sequences) {
    for (let t = 1; t < events.length; t++) {
      if (totals.positions >= limit) break outer;
      const history = events.slice(0, t);
      const { conditional, time } = explainer.week(history, events[t].location);
      for (let cell = 0; cell < WEEK_CELLS; cell++) {
        const row = conditional[cell];
        const when = time ? time[cell] : 0;
        for (let b = 0; b < V; b++) {
          totals.conditional[b][cell] += row[b];
          totals.joint[b][cell] += when * row[b];
        }
      }
      const cell = weekSlot(events[t]);
      const id = knownId(behaviors, events[t].behavior);
      if (id >= 0) totals.observed[id][cell]++;
      totals.observedCells[cell]++;
      totals.positions++;
    }
  }
  return totals;
}

export interface WeekCheckRow {
  behavior: string;
  /** Observed next events of this behavior in the split. */
  events: number;
  /**
   * "Heatmap" view: the averaged P(b | history, t) over cells vs the real share of b among the
   * events of each cell, count(b, t) / count(t), both normalised over the 56 cells (JSD, bits).
   */
  heatmap: { model: number; timePopularity: number; contextFree: number };
  /** "Joint" view: Σ P(t | history) P(b | history, t) vs the real count(b, t), normalised over the cells. */
  joint: { model: number; trainCells: number; contextFree: number };
}

/**
 * JSDs per behavior for the `names` given (e.g. the 20 most frequent in train) that occur in the split, against the
 * history-free references fitted on train: time-popularity P_train(b | t) for the heatmap and the
 * train distribution of b's cells for the joint. The context-free transformer (no time inputs)
 * gives the same prediction in every cell and has no time head: its heatmap and joint are flat.
 */
export function weekCheck(
  totals: WeekTotals,
  vocab: Vocabulary,
  names: readonly string[],
  train: readonly BehaviorSequence[],
  timePopularity: Scorer,
): WeekCheckRow[] {
  const flat = new Float64Array(WEEK_CELLS).fill(1);
  const trainCells = new Map<string, Float64Array>();
  for (const { events } of train) {
    for (const e of events) {
      const row = trainCells.get(e.behavior) ?? new Float64Array(WEEK_CELLS);
      row[weekSlot(e)]++;
      trainCells.set(e.behavior, row);
    }
  }
  const popularity = Array.from({ length: WEEK_CELLS }, (_, cell) =>
    timePopularity.score([], { ...cellTime(cell), location: UNKNOWN_LOCATION }),
  );
  const jsd = (a: ArrayLike<number>, b: ArrayLike<number>) => jensenShannon(cellTable(a), cellTable(b));
  // A behavior with no event in the split has no real distribution to compare with (only in a --limit run).
  return names
    .filter((name) => totals.observed[vocab.id(name)].some((c) => c > 0))
    .map((name) => {
      const id = vocab.id(name);
      const observed = totals.observed[id];
      const share = observed.map((c, cell) => (totals.observedCells[cell] ? c / totals.observedCells[cell] : 0));
      const popularityRow = popularity.map((p) => p[id]);
      return {
        behavior: name,
        events: observed.reduce((a, b) => a + b, 0),
        heatmap: {
          model: jsd(totals.conditional[id], share),
          timePopularity: jsd(popularityRow, share),
          contextFree: jsd(flat, share),
        },
        joint: {
          model: jsd(totals.joint[id], observed),
          trainCells: jsd(trainCells.get(name) ?? flat, observed),
          contextFree: jsd(flat, observed),
        },
      };
    });
}

/** The n most frequent real behaviors of the vocabulary's training counts. */
export function mostFrequent(vocab: Vocabulary, n: number): string[] {
  return vocab.tokens
    .map((name, id) => ({ name, id, count: vocab.counts[id] }))
    .filter((b) => !vocab.isSpecial(b.id))
    .sort((a, b) => b.count - a.count || a.id - b.id)
    .slice(0, n)
    .map((b) => b.name);
}
