/**
 * Next-behavior evaluation with full ranking: for every sequence and every position t ≥ 1,
 * predict event t from events 0..t-1 plus event t's weekday/slot/location, and rank all
 * behaviors of the model's vocabulary. A target behavior unknown to the model is a miss.
 */
import * as tf from '@tensorflow/tfjs-core';
import { bucketBatches, encodeBatch, toExamples, type Example } from '../core/batch';
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
}

export interface EvaluateOptions {
  batchSize?: number;
  /** First position (in the full sequence) that is scored; 1 in the standard protocol. */
  minPosition?: number;
  /** Sequences to skip a target of (e.g. refresh events); all counted when omitted. */
  includeTarget?: (behavior: string) => boolean;
}

export async function evaluateModel(
  model: BehaveGPT,
  sequences: readonly BehaviorSequence[],
  behaviors: Vocabulary,
  locations: Vocabulary,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const { batchSize = 128, minPosition = 1, includeTarget = () => true } = options;
  const examples = toExamples(sequences, model.config.contextLength);
  const candidates = Int32Array.from(behaviors.tokens.map((_, i) => i).filter((i) => !behaviors.isSpecial(i)));
  const targets: RankedTarget[] = [];
  let nllSum = 0;
  let nllCount = 0;
  for (const group of bucketBatches(examples, batchSize)) {
    const batch = encodeBatch(group, behaviors, locations);
    const probs = tf.tidy(() => tf.softmax(model.logits(batch)));
    const values = (await probs.data()) as Float32Array;
    probs.dispose();
    const V = behaviors.size;
    group.forEach((ex: Example, b) => {
      ex.events.forEach((event, t) => {
        const position = ex.offset + t;
        if (t < ex.firstTarget || position < minPosition || !includeTarget(event.behavior)) return;
        const row = values.subarray((b * batch.length + t) * V, (b * batch.length + t + 1) * V);
        const id = knownId(behaviors, event.behavior);
        if (id >= 0) {
          targets.push({ behavior: event.behavior, rank: rankOf(row, id, candidates) });
          nllSum -= Math.log(Math.max(row[id], 1e-12));
          nllCount++;
        } else {
          targets.push({ behavior: event.behavior, rank: MISS });
        }
      });
    });
  }
  return { metrics: rankingMetrics(targets), loss: nllCount ? nllSum / nllCount : NaN, targets };
}
