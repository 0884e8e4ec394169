/**
 * Calibration of a model's output distribution to a data set's behavior frequencies (tfjs side;
 * the formulas are in core/calibration.ts):
 *  - the sampling correction a DRO model ships for generation (fitGenerationCorrection), which
 *    undoes the objective's reweighting of the marginal when trajectories are sampled;
 *  - the label-shift start of fine-tuning on another domain (alignOutputPrior), which moves the
 *    output biases to the target's frequencies before the first step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { bucketBatches, encodeBatch, toExamples } from '../core/batch';
import type { BehaviorSequence } from '../core/events';
import type { Vocabulary } from '../core/vocab';
import { behaviorCounts } from '../core/baselines';
import { marginalCorrection } from '../core/calibration';
import type { BehaveGPT } from '../model/behavegpt';

/**
 * The model's average predicted distribution over behaviors across every target position of
 * `sequences` (the same positions as evaluateModel). Compared with the empirical frequencies it
 * shows how far an objective's reweighting (DRO, class-balanced) moved the model's marginal.
 */
export async function meanPredictedDistribution(
  model: BehaveGPT,
  sequences: readonly BehaviorSequence[],
  behaviors: Vocabulary,
  locations: Vocabulary,
  batchSize = 128,
): Promise<Float64Array> {
  const sum = new Float64Array(behaviors.size);
  let count = 0;
  for (const group of bucketBatches(toExamples(sequences, model.config.contextLength), batchSize)) {
    const batch = encodeBatch(group, behaviors, locations);
    const probs = tf.tidy(() => tf.softmax(model.logits(batch)));
    const values = (await probs.data()) as Float32Array;
    probs.dispose();
    group.forEach((ex, b) => {
      for (let t = Math.max(ex.firstTarget, ex.offset === 0 ? 1 : 0); t < ex.events.length; t++) {
        const row = (b * batch.length + t) * behaviors.size;
        for (let k = 0; k < behaviors.size; k++) sum[k] += values[row + k];
        count++;
      }
    });
  }
  return sum.map((v) => v / Math.max(count, 1));
}

/** What a model file carries for generation (training.generation; docs/GENERATION.md). */
export interface GenerationCorrection {
  behaviorLogCorrection: Record<string, number>;
  fittedOn: string;
}

/** Fits the sampling correction of a (reweighted) model on its train split; `trainName` labels it, e.g. "US train". */
export async function fitGenerationCorrection(
  model: BehaveGPT,
  train: readonly BehaviorSequence[],
  behaviors: Vocabulary,
  locations: Vocabulary,
  trainName: string,
): Promise<GenerationCorrection> {
  const meanPredicted = await meanPredictedDistribution(model, train, behaviors, locations);
  return {
    behaviorLogCorrection: marginalCorrection(meanPredicted, behaviorCounts(train), behaviors),
    fittedOn: `${trainName}: log empirical frequency − log mean predicted probability per behavior`,
  };
}

/**
 * Label-shift correction of a model about to be fine-tuned on another domain (the prior
 * adjustment of Saerens et al., 2002, applied to the output bias): each behavior's bias moves by
 * log(estimated target frequency) − log(the model's mean predicted probability p̂ on `train`).
 * The target frequency is the posterior mean under a Dirichlet prior centred on p̂ worth
 * `priorEvents` events, (n_c + priorEvents·p̂_c) / (N + priorEvents): with thousands of events it
 * is the empirical frequency, with a few dozen (1% of France) the shift is damped instead of
 * trusting counts of 0 and 1. Repeated `rounds` times since one step does not match the
 * marginals exactly. The model then starts fine-tuning with the target's behavior frequencies
 * instead of the source's (France's most common behaviors are rare in the US), so the first
 * steps are not spent moving biases. Returns the total shift per behavior id.
 */
export async function alignOutputPrior(
  model: BehaveGPT,
  train: readonly BehaviorSequence[],
  behaviors: Vocabulary,
  locations: Vocabulary,
  options: { priorEvents?: number; rounds?: number } = {},
): Promise<Float64Array> {
  const bias = model.params.get('head.out.b');
  if (!bias) throw new Error('alignOutputPrior: the model has no "head.out.b"');
  const real = behaviors.tokens.map((_, i) => i).filter((i) => !behaviors.isSpecial(i));
  const { priorEvents = real.length, rounds = 2 } = options;
  const counts = behaviorCounts(train);
  const total = real.reduce((n, i) => n + (counts.get(behaviors.name(i)) ?? 0), 0);
  const shift = new Float64Array(behaviors.size);
  for (let round = 0; round < rounds; round++) {
    const mean = await meanPredictedDistribution(model, train, behaviors, locations);
    const values = Float32Array.from((await bias.data()) as Float32Array);
    for (const i of real) {
      const predicted = Math.max(mean[i], 1e-9);
      const target = ((counts.get(behaviors.name(i)) ?? 0) + priorEvents * predicted) / (total + priorEvents);
      const delta = Math.log(target) - Math.log(predicted);
      values[i] += delta;
      shift[i] += delta;
    }
    const next = tf.tensor1d(values);
    bias.assign(next);
    next.dispose();
  }
  return shift;
}
