/**
 * The full-ranking protocol of npm run evaluate for any engine that scores encoded windows in
 * batches (the tfjs model, the plain-JS decoder): windows of every sequence (toExamples), batched
 * by length, each counted position t ≥ 1 ranked among the candidate behaviors; a target behavior
 * the vocabulary lacks is a miss. core/evaluation.ts is the same protocol for per-history scorers
 * (the baselines). Pure: the engine is passed in.
 */
import { bucketBatches, encodeBatch, toExamples, type Batch, type Example } from './batch';
import type { BehaviorSequence } from './events';
import { MISS, rankOf, type RankedTarget } from './metrics';
import type { Vocabulary } from './vocab';
import { knownId } from './baselines';

export interface EvaluateOptions {
  batchSize?: number;
  /** First position (in the full sequence) that is scored; 1 in the standard protocol. */
  minPosition?: number;
  /** Sequences to skip a target of (e.g. refresh events); all counted when omitted. */
  includeTarget?: (behavior: string) => boolean;
  /** Behaviors that are ranked (all real behaviors of the vocabulary when omitted); a target outside them is a miss. */
  candidate?: (behavior: string) => boolean;
}

/**
 * Behavior probabilities at flat positions (b·T + t) of a batch, [positions × numBehaviors] in
 * the order given: what an engine (the tfjs model, or the plain-JS decoder) computes for scoring.
 */
export type BatchScorer = (batch: Batch, positions: Int32Array) => Promise<Float32Array>;

/** A scored target with its negative log-likelihood (NaN for a miss). */
export interface ScoredTarget extends RankedTarget {
  nll: number;
}

export interface RankOptions extends EvaluateOptions {
  /** Called after each batch with the targets scored so far and the total. */
  onBatch?: (done: number, total: number) => void | Promise<void>;
  signal?: AbortSignal;
  /** Chooses the scorer of each batch (e.g. after measuring engines on the first); default: `scorer`. */
  scorerFor?: (batchIndex: number, batch: Batch, positions: Int32Array) => Promise<BatchScorer>;
}

/**
 * The full-ranking protocol with any scorer: windows of every sequence (core/batch toExamples),
 * batched by length, each counted position ranked among the candidate behaviors. The engine only
 * computes the positions that are counted.
 */
export async function rankBatchTargets(
  scorer: BatchScorer,
  sequences: readonly BehaviorSequence[],
  behaviors: Vocabulary,
  locations: Vocabulary,
  contextLength: number,
  options: RankOptions = {},
): Promise<ScoredTarget[]> {
  const {
    batchSize = 128,
    minPosition = 1,
    includeTarget = () => true,
    candidate = () => true,
    onBatch,
    signal,
    scorerFor,
  } = options;
  const examples = toExamples(sequences, contextLength);
  const candidates = Int32Array.from(
    behaviors.tokens.map((_, i) => i).filter((i) => !behaviors.isSpecial(i) && candidate(behaviors.name(i))),
  );
  const counted = (ex: Example, t: number) =>
    t >= ex.firstTarget && ex.offset + t >= minPosition && includeTarget(ex.events[t].behavior);
  let total = 0;
  for (const ex of examples) for (let t = 0; t < ex.events.length; t++) if (counted(ex, t)) total++;
  const targets: ScoredTarget[] = [];
  const V = behaviors.size;
  const groups = bucketBatches(examples, batchSize);
  for (let g = 0; g < groups.length; g++) {
    signal?.throwIfAborted();
    const group = groups[g];
    const batch = encodeBatch(group, behaviors, locations);
    const positions: number[] = [];
    group.forEach((ex, b) => {
      for (let t = 0; t < ex.events.length; t++) if (counted(ex, t)) positions.push(b * batch.length + t);
    });
    const flat = Int32Array.from(positions);
    const values = await (scorerFor ? await scorerFor(g, batch, flat) : scorer)(batch, flat);
    positions.forEach((p, k) => {
      const ex = group[Math.floor(p / batch.length)];
      const event = ex.events[p % batch.length];
      const row = values.subarray(k * V, (k + 1) * V);
      const id = candidate(event.behavior) ? knownId(behaviors, event.behavior) : -1;
      targets.push(
        id >= 0
          ? {
              behavior: event.behavior,
              rank: rankOf(row, id, candidates),
              sequence: ex.sequenceId,
              nll: -Math.log(Math.max(row[id], 1e-12)),
            }
          : { behavior: event.behavior, rank: MISS, sequence: ex.sequenceId, nll: NaN },
      );
    });
    await onBatch?.(targets.length, total);
  }
  return targets;
}

/** Mean cross-entropy (nats) over the targets the model can name. */
export function meanLoss(targets: readonly ScoredTarget[]): number {
  let sum = 0;
  let n = 0;
  for (const t of targets) {
    if (Number.isNaN(t.nll)) continue;
    sum += t.nll;
    n++;
  }
  return n ? sum / n : NaN;
}
