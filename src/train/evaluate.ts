/**
 * Next-behavior evaluation with full ranking: for every sequence and every position t ≥ 1,
 * predict event t from events 0..t-1 plus event t's weekday/slot/location, and rank all
 * behaviors of the model's vocabulary. A target behavior unknown to the model is a miss.
 */
import * as tf from '@tensorflow/tfjs-core';
import { IGNORE, timeTargets, type Batch } from '../core/batch';
import { meanLoss, rankBatchTargets, type BatchScorer, type EvaluateOptions } from '../core/batch-evaluation';
import { NUM_SLOTS } from '../core/events';
import { addSlots, NUM_SLOT_DELTAS } from '../core/time';
import type { BehaviorSequence } from '../core/events';
import { rankingMetrics, type MetricSet, type RankedTarget } from '../core/metrics';
import type { Vocabulary } from '../core/vocab';
import type { BehaveGPT } from '../model/behavegpt';

export type { EvaluateOptions } from '../core/batch-evaluation';

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
    positions.forEach((p, k) => {
      rows.set(values.subarray(p * V, (p + 1) * V), k * V);
    });
    return rows;
  };
  const scored = await rankBatchTargets(scorer, sequences, behaviors, locations, model.config.contextLength, options);
  const targets: RankedTarget[] = scored.map(({ behavior, rank, sequence }) => ({ behavior, rank, sequence }));
  const result: EvaluationResult = { metrics: rankingMetrics(targets), loss: meanLoss(scored), targets };
  if (time.count > 0) {
    result.time = {
      accuracy: time.hits / time.count,
      slotAccuracy: time.slotHits / time.count,
      loss: time.nll / time.count,
      count: time.count,
      sameSlotShare: time.same / time.count,
    };
  }
  return result;
}

/** Accumulates the time head's hits and log-loss over a batch's counted time targets. */
function scoreTime(
  probs: Float32Array,
  batch: Batch,
  acc: { hits: number; slotHits: number; nll: number; count: number; same: number },
): void {
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
