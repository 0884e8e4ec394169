/**
 * The full-ranking evaluation protocol for scorers that need no tensors (the baselines): for every
 * sequence and every position t ≥ 1, predict event t from events 0..t-1 plus event t's
 * weekday/slot/location, and rank all non-special behaviors of the training vocabulary; a target
 * behavior outside the vocabulary is a miss. Same protocol as core/batch-evaluation.ts (the models'). Pure.
 */
import type { BehaviorSequence } from './events';
import { MISS, rankOf, rankingMetrics, type MetricSet, type RankedTarget } from './metrics';
import type { Vocabulary } from './vocab';
import { knownId, type Scorer } from './baselines';

/** Calls `fn` for every scored target: each sequence's positions t ≥ minPosition (default 1). */
export function forEachTarget(
  sequences: readonly BehaviorSequence[],
  minPosition = 1,
  fn: (seq: BehaviorSequence, t: number) => void,
): void {
  for (const seq of sequences) for (let t = Math.max(0, minPosition); t < seq.events.length; t++) fn(seq, t);
}

export interface RankTargetsOptions {
  /** First scored position in a sequence; 1 in the standard protocol. */
  minPosition?: number;
  /** Targets to keep (e.g. not refresh events); all when omitted. */
  includeTarget?: (behavior: string) => boolean;
}

export function rankTargets(
  scorer: Scorer,
  sequences: readonly BehaviorSequence[],
  vocab: Vocabulary,
  options: RankTargetsOptions = {},
): RankedTarget[] {
  const { minPosition = 1, includeTarget = () => true } = options;
  const candidates = Int32Array.from(vocab.tokens.map((_, i) => i).filter((i) => !vocab.isSpecial(i)));
  const targets: RankedTarget[] = [];
  forEachTarget(sequences, minPosition, (seq, t) => {
    const { behavior, weekday, slot, location } = seq.events[t];
    if (!includeTarget(behavior)) return;
    const id = knownId(vocab, behavior);
    // Only the target's context is passed on, never the event itself, so a scorer cannot peek.
    const rank =
      id < 0 ? MISS : rankOf(scorer.score(seq.events.slice(0, t), { weekday, slot, location }), id, candidates);
    targets.push({ behavior, rank });
  });
  return targets;
}

/**
 * Weighted recall@5 (hit rate) over the targets whose behavior is in `head`, and over the rest.
 * Behaviors never seen in training are not in a head built from training counts, so they count
 * as tail: the tail number is then what a user with rare habits gets, misses included.
 * NaN for a group without targets.
 */
export function headTailMetrics(
  targets: readonly RankedTarget[],
  head: ReadonlySet<string>,
): { 'head_recall@5': number; 'tail_recall@5': number } {
  const recall5 = (inHead: boolean) =>
    rankingMetrics(targets.filter((t) => head.has(t.behavior) === inHead))['weighted_recall@5'] ?? NaN;
  return { 'head_recall@5': recall5(true), 'tail_recall@5': recall5(false) };
}

/** rankingMetrics plus head/tail recall@5: the metric set reported for every model and baseline. */
export function fullMetrics(targets: readonly RankedTarget[], head: ReadonlySet<string>): MetricSet {
  return { ...rankingMetrics(targets), ...headTailMetrics(targets, head) };
}
