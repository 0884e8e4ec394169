/**
 * Non-neural baselines for next-behavior prediction, scored by the same full-ranking protocol as
 * the neural model (core/evaluation). Pure (no tfjs, no Node APIs): Node and the browser share them.
 *
 * Every conditional baseline smooths its counts towards a lower-order distribution with the
 * same additive (Dirichlet-prior) backoff:
 *
 *   p(b | ctx) = (count(ctx, b) + λ · p_lower(b)) / (count(ctx) + λ)
 *
 * λ is a pseudo-count: a context seen n times trusts its own counts with weight n / (n + λ).
 * An unseen context (n = 0) gives exactly p_lower, and since λ > 0 mixes p_lower into every
 * context, behaviors with equal counts in a context are still ordered by the lower order, so
 * the evaluator's ties-count-against-the-target rule only bites where the data has no opinion.
 */
import type { BehaviorEvent, BehaviorSequence, EventContext } from './events';
import { NUM_SLOTS } from './events';
import { countBy } from './counts';
import type { Vocabulary } from './vocab';

export interface Scorer {
  name: string;
  /** scores over vocabulary ids (length vocab.size); higher = more likely; special ids are ignored by the evaluator */
  score(history: readonly BehaviorEvent[], next: EventContext): Float64Array;
}

export interface SmoothingOptions {
  /** λ, the weight in pseudo-counts of the backoff distribution; default DEFAULT_SMOOTHING. */
  smoothing?: number;
}

/**
 * Default λ: one pseudo-count. The contexts (a weekday × slot cell, one or two previous
 * behaviors) are few and mostly well populated, so λ hardly matters: on the US validation split
 * every λ in 0.1–5 gave the same weighted_recall@1 (±0.0001) and mrr (±0.0001) for all three
 * conditional baselines; λ = 10 starts to cost Markov-2.
 */
export const DEFAULT_SMOOTHING = 1;

/** Vocabulary id of a real behavior, or -1 for a name the vocabulary lacks or a special token. */
export function knownId(vocab: Vocabulary, name: string): number {
  if (!vocab.has(name)) return -1;
  const id = vocab.id(name);
  return vocab.isSpecial(id) ? -1 : id;
}

/** How often each behavior occurs in `sequences` (e.g. the training counts for headBehaviors). */
export function behaviorCounts(sequences: readonly BehaviorSequence[]): Map<string, number> {
  return countBy(
    sequences.flatMap((s) => s.events),
    (e) => e.behavior,
  );
}

/** Global training frequency p_global over vocabulary ids (every event counts as a target). */
function globalDistribution(train: readonly BehaviorSequence[], vocab: Vocabulary): Float64Array {
  const p = new Float64Array(vocab.size);
  let total = 0;
  for (const [name, count] of behaviorCounts(train)) {
    const id = knownId(vocab, name);
    if (id >= 0) {
      p[id] = count;
      total += count;
    }
  }
  if (total > 0) for (let i = 0; i < p.length; i++) p[i] /= total;
  return p;
}

/** The backoff formula of the header: (counts + λ·lower) / (Σ counts + λ); `lower` when unseen. */
function smooth(counts: Float64Array | undefined, lower: Float64Array, lambda: number): Float64Array {
  let n = 0;
  if (counts) for (const c of counts) n += c;
  if (!counts || n === 0) return lower.slice();
  const p = new Float64Array(lower.length);
  for (let i = 0; i < p.length; i++) p[i] = (counts[i] + lambda * lower[i]) / (n + lambda);
  return p;
}

function smoothingOf(options: SmoothingOptions): number {
  const lambda = options.smoothing ?? DEFAULT_SMOOTHING;
  if (!(lambda >= 0) || !Number.isFinite(lambda))
    throw new Error(`smoothing must be a finite number ≥ 0, got ${lambda}`);
  return lambda;
}

/** Adds one observation of behavior `id` after context `key`. */
function addCount(table: Map<string, Float64Array>, key: string, id: number, size: number): void {
  let counts = table.get(key);
  if (!counts) {
    counts = new Float64Array(size);
    table.set(key, counts);
  }
  counts[id] += 1;
}

/** Global training frequency, whatever the history and time. */
export function fitPopularity(train: readonly BehaviorSequence[], vocab: Vocabulary): Scorer {
  const global = globalDistribution(train, vocab);
  return { name: 'popularity', score: () => global.slice() };
}

/**
 * Frequency at the target's weekday × slot, backed off to global popularity:
 * p(b | w, s) = (count(b, w, s) + λ · p_global(b)) / (count(w, s) + λ).
 */
export function fitTimePopularity(
  train: readonly BehaviorSequence[],
  vocab: Vocabulary,
  options: SmoothingOptions = {},
): Scorer {
  const lambda = smoothingOf(options);
  const global = globalDistribution(train, vocab);
  const cells = new Map<string, Float64Array>();
  const cell = (c: EventContext) => String(c.weekday * NUM_SLOTS + c.slot);
  for (const seq of train) {
    for (const e of seq.events) {
      const id = knownId(vocab, e.behavior);
      if (id >= 0) addCount(cells, cell(e), id, vocab.size);
    }
  }
  return { name: 'time-popularity', score: (_history, next) => smooth(cells.get(cell(next)), global, lambda) };
}

/**
 * Markov chain over behaviors, counted on consecutive training events, with nested backoff:
 *   p1(b | a)     = (count(a → b)     + λ · p_global(b))  / (count(a → ·)     + λ)
 *   p2(b | a', a) = (count(a', a → b) + λ · p1(b | a))    / (count(a', a → ·) + λ)
 * where a is the last history event and a' the one before. Empty history → p_global; order 2
 * with a one-event history → p1. A context never seen in training backs off entirely.
 */
export function fitMarkov(
  train: readonly BehaviorSequence[],
  vocab: Vocabulary,
  order: 1 | 2,
  options: SmoothingOptions = {},
): Scorer {
  const lambda = smoothingOf(options);
  const global = globalDistribution(train, vocab);
  // Contexts are keyed by name, so a context behavior the vocabulary lacks still counts.
  const pair = (a: string, b: string) => `${a}\u0000${b}`;
  const first = new Map<string, Float64Array>();
  const second = new Map<string, Float64Array>();
  for (const { events } of train) {
    for (let t = 1; t < events.length; t++) {
      const id = knownId(vocab, events[t].behavior);
      if (id < 0) continue;
      addCount(first, events[t - 1].behavior, id, vocab.size);
      if (order === 2 && t >= 2) addCount(second, pair(events[t - 2].behavior, events[t - 1].behavior), id, vocab.size);
    }
  }
  return {
    name: `markov-${order}`,
    score(history) {
      const n = history.length;
      if (n === 0) return global.slice();
      const p1 = smooth(first.get(history[n - 1].behavior), global, lambda);
      if (order === 1 || n === 1) return p1;
      return smooth(second.get(pair(history[n - 2].behavior, history[n - 1].behavior)), p1, lambda);
    },
  };
}
