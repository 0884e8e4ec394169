/**
 * Next-behavior evaluation with full ranking: for every sequence and every position t ≥ 1,
 * predict event t from events 0..t-1 plus event t's weekday/slot/location, and rank all
 * behaviors of the model's vocabulary. A target behavior unknown to the model is a miss.
 */
import * as tf from '@tensorflow/tfjs-core';
import { bucketBatches, encodeBatch, IGNORE, timeTargets, toExamples, type Batch, type Example } from '../core/batch';
import { NUM_SLOTS } from '../core/events';
import { addSlots, NUM_SLOT_DELTAS } from '../core/time';
import type { BehaviorSequence } from '../core/events';
import { MISS, rankOf, rankingMetrics, type MetricSet, type RankedTarget } from '../core/metrics';
import type { Vocabulary } from '../core/vocab';
import { knownId } from '../core/baselines';
import type { BehaveGPT } from '../model/behavegpt';

export interface EvaluationResult {
  metrics: MetricSet;
  /** Mean cross-entropy (nats) over targets the model can name. */
  loss: number;
  targets: RankedTarget[];
  /** Time head (models that have one): next-event slot-delta accuracy and cross-entropy. */
  time?: TimeHeadMetrics;
}

export interface TimeHeadMetrics {
  /** Share of targets whose (weekday, slot) is the time head's most likely one. */
  accuracy: number;
  /** Share whose 3-hour slot of the day (any weekday) is the most likely slot under the head. */
  slotAccuracy: number;
  /** Mean cross-entropy (nats) of the true slot delta. */
  loss: number;
  count: number;
  /** Reference: share of targets in the same weekday and slot as the previous event. */
  sameSlotShare: number;
}

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
export async function rankTargets(
  scorer: BatchScorer,
  sequences: readonly BehaviorSequence[],
  behaviors: Vocabulary,
  locations: Vocabulary,
  contextLength: number,
  options: RankOptions = {},
): Promise<ScoredTarget[]> {
  const { batchSize = 128, minPosition = 1, includeTarget = () => true, candidate = () => true, onBatch, signal, scorerFor } = options;
  const examples = toExamples(sequences, contextLength);
  const candidates = Int32Array.from(behaviors.tokens.map((_, i) => i).filter((i) => !behaviors.isSpecial(i) && candidate(behaviors.name(i))));
  const counted = (ex: Example, t: number) => t >= ex.firstTarget && ex.offset + t >= minPosition && includeTarget(ex.events[t].behavior);
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
    group.forEach((ex, b) => ex.events.forEach((_, t) => counted(ex, t) && positions.push(b * batch.length + t)));
    const flat = Int32Array.from(positions);
    const values = await (scorerFor ? await scorerFor(g, batch, flat) : scorer)(batch, flat);
    positions.forEach((p, k) => {
      const ex = group[Math.floor(p / batch.length)];
      const event = ex.events[p % batch.length];
      const row = values.subarray(k * V, (k + 1) * V);
      const id = candidate(event.behavior) ? knownId(behaviors, event.behavior) : -1;
      targets.push(
        id >= 0
          ? { behavior: event.behavior, rank: rankOf(row, id, candidates), sequence: ex.sequenceId, nll: -Math.log(Math.max(row[id], 1e-12)) }
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

/** The tfjs model as a BatchScorer (on the current backend). */
export function modelScorer(model: BehaveGPT): BatchScorer {
  return (batch, positions) => model.probabilities(batch, Array.from(positions));
}

export async function evaluateModel(
  model: BehaveGPT,
  sequences: readonly BehaviorSequence[],
  behaviors: Vocabulary,
  locations: Vocabulary,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const time = { hits: 0, slotHits: 0, nll: 0, count: 0, same: 0 };
  const V = behaviors.size;
  // One pass per batch for both heads, every token (as training's evaluation always has).
  const scorer: BatchScorer = async (batch, positions) => {
    const [probs, timeProbs] = tf.tidy(() => {
      const out = model.outputs(batch);
      return out.time ? [tf.softmax(out.behavior), tf.softmax(out.time)] : [tf.softmax(out.behavior)];
    });
    const values = (await probs.data()) as Float32Array;
    probs.dispose();
    if (timeProbs) {
      scoreTime((await timeProbs.data()) as Float32Array, batch, time);
      timeProbs.dispose();
    }
    const rows = new Float32Array(positions.length * V);
    positions.forEach((p, k) => rows.set(values.subarray(p * V, (p + 1) * V), k * V));
    return rows;
  };
  const scored = await rankTargets(scorer, sequences, behaviors, locations, model.config.contextLength, options);
  const targets: RankedTarget[] = scored.map(({ behavior, rank, sequence }) => ({ behavior, rank, sequence }));
  const result: EvaluationResult = { metrics: rankingMetrics(targets), loss: meanLoss(scored), targets };
  if (time.count > 0) {
    result.time = { accuracy: time.hits / time.count, slotAccuracy: time.slotHits / time.count, loss: time.nll / time.count, count: time.count, sameSlotShare: time.same / time.count };
  }
  return result;
}

/** Accumulates the time head's hits and log-loss over a batch's counted time targets. */
function scoreTime(probs: Float32Array, batch: Batch, acc: { hits: number; slotHits: number; nll: number; count: number; same: number }): void {
  const targets = timeTargets(batch);
  for (let i = 0; i < targets.length; i++) {
    const delta = targets[i];
    if (delta === IGNORE) continue;
    const row = probs.subarray(i * NUM_SLOT_DELTAS, (i + 1) * NUM_SLOT_DELTAS);
    const from = { weekday: batch.weekdays[i], slot: batch.slots[i] };
    let best = 0;
    const bySlot = new Float64Array(NUM_SLOTS);
    for (let k = 0; k < NUM_SLOT_DELTAS; k++) {
      if (row[k] > row[best]) best = k;
      bySlot[addSlots(from, k).slot] += row[k];
    }
    let bestSlot = 0;
    for (let k = 1; k < NUM_SLOTS; k++) if (bySlot[k] > bySlot[bestSlot]) bestSlot = k;
    acc.hits += best === delta ? 1 : 0;
    acc.slotHits += bestSlot === batch.targetSlots[i] ? 1 : 0;
    acc.nll -= Math.log(Math.max(row[delta], 1e-12));
    acc.same += delta === 0 ? 1 : 0;
    acc.count++;
  }
}
