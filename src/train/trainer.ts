/**
 * The training loop, separate from the model: shuffled length-bucketed batches, AdamW with
 * warm-up + cosine schedule, evaluation on valid after every epoch, early stopping that
 * restores the best weights (with no valid sequences nothing is selected: the last epoch is
 * kept). Runs in Node (wasm) and in a web worker.
 */
import * as tf from '@tensorflow/tfjs-core';
import { bucketBatches, encodeBatch, timeTargets, toExamples, type Batch } from '../core/batch';
import type { BehaviorSequence } from '../core/events';
import { createRng } from '../core/random';
import type { Vocabulary } from '../core/vocab';
import type { BehaveGPT } from '../model/behavegpt';
import { evaluateModel, type EvaluationResult } from './evaluate';
import { countTargets, createObjective, crossEntropy, type Objective, type ObjectiveSpec } from './losses';
import { AdamW, cosineSchedule } from './optimizer';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  warmupSteps: number;
  /**
   * After the warm-up: cosine decay over the whole budget (pretraining), or constant (fine-tuning:
   * early stopping ends the run, so the steps taken do not depend on the budget, and a run that
   * continues goes on at the rate it stopped at).
   */
  schedule?: 'cosine' | 'constant';
  weightDecay: number;
  /** At least this many optimizer steps: small data gets more epochs (early stopping still applies). */
  minSteps?: number;
  /**
   * Evaluate on valid at the end of an epoch only once this many steps have passed since the
   * last evaluation (tiny data makes one-step epochs; the last epoch is always evaluated).
   */
  evaluateEvery?: number;
  /** Evaluations without valid improvement before stopping (one per epoch unless evaluateEvery). */
  patience: number;
  seed: number;
  objective: ObjectiveSpec;
  /** Which valid figure picks the best epoch (lower loss, or higher metric). */
  selectBy: 'loss' | 'weighted_recall@1' | 'macro_recall@5';
  /**
   * Epochs for which this is false cannot be selected (a constraint on valid, e.g. "old
   * behaviors lose at most 1 point"); it sees each evaluation and the one before training.
   * With no eligible epoch the model stays as it was before training.
   */
  eligible?: (result: EvaluationResult, initial: EvaluationResult) => boolean;
  /**
   * The model before training competes with the trained epochs (fine-tuning: when no epoch
   * beats the starting point on valid, the start is kept). Otherwise the first eligible epoch
   * replaces it whatever its score: a fresh model must train.
   */
  startCompetes?: boolean;
  /** Loss weight of the time head and whether its gradient stops at the shared layers (models with a time head). */
  timeHead: TimeHeadTraining;
  /** Only parameters for which this is true are trained (all when omitted). */
  trainable?: (name: string) => boolean;
  /** Stops training before the next step (the loop then yields to the event loop between steps, so an abort is seen). */
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  epochs: 24,
  batchSize: 64,
  learningRate: 3e-3,
  warmupSteps: 100,
  weightDecay: 0.05,
  patience: 5,
  seed: 0,
  objective: { name: 'ce' },
  selectBy: 'loss',
  timeHead: { weight: 1, detached: true },
};

export interface TimeHeadTraining {
  weight: number;
  /**
   * Detached: the time head learns from the shared hidden states without changing them, and has
   * its own optimizer (its own gradient clipping), so the behavior model trains exactly as
   * without it. Joint: one loss, one optimizer, gradients flow into the shared layers.
   */
  detached: boolean;
}

/** Variables updated by one optimizer. */
export interface OptimizerGroup {
  variables: ReadonlyMap<string, tf.Variable>;
  optimizer: AdamW;
}

export interface TrainProgress {
  kind: 'step' | 'epoch';
  epoch: number;
  step: number;
  totalSteps: number;
  loss: number;
  stepsPerSecond: number;
  tokensPerSecond: number;
  etaSeconds: number;
  learningRate: number;
  valid?: EvaluationResult;
  improved?: boolean;
}

export interface TrainResult {
  bestEpoch: number;
  epochsRun: number;
  steps: number;
  seconds: number;
  best: EvaluationResult;
  /** Every evaluation on valid: epoch, optimizer steps so far, mean train loss of the epoch, valid loss and metrics. */
  history: { epoch: number; step: number; trainLoss: number; validLoss: number; valid: Record<string, number> }[];
  stoppedEarly: boolean;
  cancelled: boolean;
}

/** One optimizer step on a batch; returns its loss. Shared by training and the throughput benchmark. */
export async function trainStep(
  model: BehaveGPT,
  groups: readonly OptimizerGroup[],
  objective: Objective,
  batch: Batch,
  seed: number,
  timeHead: TimeHeadTraining = DEFAULT_TRAIN_OPTIONS.timeHead,
): Promise<number> {
  const all = groups.flatMap((g) => [...g.variables.values()]);
  const { value, grads } = tf.variableGrads(() => {
    const out = model.outputs(batch, { training: true, seed, detachTime: timeHead.detached });
    const loss = objective.loss(out.behavior, batch.targets);
    return out.time ? tf.add(loss, tf.mul(crossEntropy(out.time, timeTargets(batch)), timeHead.weight)) : loss;
  }, all);
  for (const g of groups) {
    // variableGrads keys gradients by the variables' own (tfjs) names.
    const mine = Object.fromEntries([...g.variables.values()].map((v) => [v.name, grads[v.name]]));
    g.optimizer.apply(g.variables, mine).dispose();
  }
  for (const g of Object.values(grads)) g.dispose();
  await objective.afterStep();
  const loss = (await value.data())[0];
  value.dispose();
  return loss;
}

/** The trained variables split into optimizer groups: the time head gets its own when detached. */
function optimizerGroups(model: BehaveGPT, o: TrainOptions): OptimizerGroup[] {
  const variables = new Map([...model.params].filter(([name]) => (o.trainable ? o.trainable(name) : true)));
  const make = (vars: Map<string, tf.Variable>) => ({
    variables: vars,
    optimizer: new AdamW(o.learningRate, { weightDecay: o.weightDecay }),
  });
  if (!model.config.timeHead || !o.timeHead.detached) return [make(variables)];
  const isTime = (name: string) => name.startsWith('time.');
  return [
    make(new Map([...variables].filter(([n]) => !isTime(n)))),
    make(new Map([...variables].filter(([n]) => isTime(n)))),
  ].filter((g) => g.variables.size > 0);
}

/** Resolves after the event loop has run the tasks already queued (messages, timers). */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function score(result: EvaluationResult, selectBy: TrainOptions['selectBy']): number {
  return selectBy === 'loss' ? -result.loss : result.metrics[selectBy];
}

export async function trainModel(
  model: BehaveGPT,
  train: readonly BehaviorSequence[],
  valid: readonly BehaviorSequence[],
  behaviors: Vocabulary,
  locations: Vocabulary,
  options: Partial<TrainOptions> = {},
): Promise<TrainResult> {
  const o: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, ...options };
  const rng = createRng(o.seed);
  const examples = toExamples(train, model.config.contextLength);
  const stepsPerEpoch = Math.ceil(examples.length / o.batchSize);
  // No training examples: nothing to train (the model is only evaluated).
  const epochs = stepsPerEpoch === 0 ? 0 : Math.max(o.epochs, Math.ceil((o.minSteps ?? 0) / stepsPerEpoch));
  const totalSteps = stepsPerEpoch * epochs;
  const groups = optimizerGroups(model, o);
  const objective = createObjective(
    o.objective,
    countTargets(train, (n) => behaviors.id(n), behaviors.size),
    (i) => behaviors.isSpecial(i),
  );
  const snapshot = () => new Map([...model.params].map(([name, v]) => [name, tf.clone(v)]));
  const restore = (saved: Map<string, tf.Tensor>) => {
    for (const [name, t] of saved) model.params.get(name)!.assign(t);
  };
  const disposeAll = (saved: Map<string, tf.Tensor>) => {
    for (const t of saved.values()) t.dispose();
  };

  const initial = snapshot();
  const before = await evaluateModel(model, valid, behaviors, locations);
  let best = before;
  let bestWeights = snapshot();
  let bestEpoch = 0;
  const history: TrainResult['history'] = [];
  const start = performance.now();
  let step = 0;
  let tokens = 0;
  let sinceBest = 0;
  let lastEvaluated = 0;
  let cancelled = false;
  let epoch = 0;
  try {
    for (epoch = 1; epoch <= epochs; epoch++) {
      let lossSum = 0;
      let lossCount = 0;
      for (const group of bucketBatches(examples, o.batchSize, rng)) {
        // A step's awaits resolve as microtasks: without a task boundary a worker would read its
        // messages (a cancel) only after the whole run.
        if (o.signal) await nextTask();
        if (o.signal?.aborted) {
          cancelled = true;
          break;
        }
        const batch = encodeBatch(group, behaviors, locations);
        const learningRate =
          o.schedule === 'constant'
            ? Math.min(1, (step + 1) / Math.max(1, o.warmupSteps)) * o.learningRate
            : cosineSchedule(step, totalSteps, o.warmupSteps, o.learningRate);
        for (const g of groups) g.optimizer.learningRate = learningRate;
        const seed = Math.floor(rng() * 2 ** 31);
        const loss = await trainStep(model, groups, objective, batch, seed, o.timeHead);
        lossSum += loss;
        lossCount++;
        step++;
        tokens += batch.batchSize * batch.length;
        const seconds = (performance.now() - start) / 1000;
        o.onProgress?.({
          kind: 'step',
          epoch,
          step,
          totalSteps,
          loss,
          stepsPerSecond: step / seconds,
          tokensPerSecond: tokens / seconds,
          etaSeconds: ((totalSteps - step) * seconds) / step,
          learningRate: groups[0].optimizer.learningRate,
        });
      }
      if (cancelled) break;
      if (epoch < epochs && step - lastEvaluated < (o.evaluateEvery ?? 0)) continue;
      lastEvaluated = step;
      const result = await evaluateModel(model, valid, behaviors, locations);
      // No valid sequences: nothing to select on, every epoch counts as the best so far (the last is kept).
      const eligible = !o.eligible || o.eligible(result, before);
      const replacesStart = bestEpoch === 0 && !o.startCompetes;
      const improved =
        valid.length === 0 || (eligible && (replacesStart || score(result, o.selectBy) > score(best, o.selectBy)));
      history.push({
        epoch,
        step,
        trainLoss: lossSum / Math.max(1, lossCount),
        validLoss: result.loss,
        valid: result.metrics,
      });
      if (improved) {
        best = result;
        bestEpoch = epoch;
        disposeAll(bestWeights);
        bestWeights = snapshot();
        sinceBest = 0;
      } else sinceBest++;
      const seconds = (performance.now() - start) / 1000;
      o.onProgress?.({
        kind: 'epoch',
        epoch,
        step,
        totalSteps,
        loss: lossSum / Math.max(1, lossCount),
        stepsPerSecond: step / seconds,
        tokensPerSecond: tokens / seconds,
        etaSeconds: ((totalSteps - step) * seconds) / step,
        learningRate: groups[0].optimizer.learningRate,
        valid: result,
        improved,
      });
      if (sinceBest >= o.patience) break;
    }
    // Cancel leaves the model as it was before training; otherwise keep the best epoch.
    restore(cancelled ? initial : bestWeights);
  } finally {
    disposeAll(initial);
    disposeAll(bestWeights);
    for (const g of groups) g.optimizer.dispose();
    objective.dispose();
  }
  return {
    bestEpoch,
    epochsRun: Math.min(epoch, epochs),
    steps: step,
    seconds: (performance.now() - start) / 1000,
    best,
    history,
    stoppedEarly: sinceBest >= o.patience,
    cancelled,
  };
}
