/**
 * The fine-tuning protocol, one implementation for the worker (the Fine-tune tab), the CLI
 * (`npm run finetune`) and the own-data experiments:
 *
 *   base model from its files → base scored on the held-out part → Markov-2 and popularity
 *   fitted on the training part and scored on the held-out part → the training part's new
 *   behaviors added to the vocabulary and the output biases moved to the data's behavior
 *   frequencies (kept if the validation part agrees) → trained (DRO by default) at a constant
 *   rate after a warm-up until the validation loss stops improving or the budget ends, the
 *   best epoch kept → adapted model serialized (int8) and scored on the held-out part as
 *   stored → optionally the same architecture trained from scratch on the training part with
 *   its own learning rate and budget, scored the same way.
 *
 * The split comes with the request (buildStartMessage); the held-out part is used for the
 * comparison and nothing else. A run can continue a finished one from the weights it kept.
 * Nothing here touches the page; `post` carries every message out.
 */
import * as tf from '@tensorflow/tfjs-core';
import { toExamples } from '../core/batch';
import { DEFAULT_DRO } from '../core/dro';
import type { BehaviorSequence } from '../core/events';
import { adaptedModelName, fitLocations, newBehaviors, scoreBaselines } from '../core/finetune';
import type { MetricSet } from '../core/metrics';
import type { Vocabulary } from '../core/vocab';
import { BehaveGPT, countParameters } from '../model/behavegpt';
import { extendVocabulary } from '../model/extend';
import type { BackendChoice } from '../model/pipeline-types';
import {
  modelFromArtifacts,
  serializeModel,
  validateManifest,
  type LoadedModel,
  type ModelManifest,
} from '../model/weights';
import { evaluateModel } from './evaluate';
import { alignOutputPrior } from './calibration';
import {
  isTrainable,
  protocolTrainOptions,
  type Arm,
  type ArmSummary,
  type FinetuneParts,
  type FinetuneSchedule,
  type FinetuneSettings,
  type FromWorker,
  type PreparedInfo,
  type ProgressPoint,
  type StartMessage,
  type StopInfo,
  type TrainingBudget,
} from './finetune-protocol';
import type { ObjectiveSpec } from './losses';
import { buildConfig, buildVocabularies } from './recipe';
import { trainModel, type TrainProgress, type TrainResult } from './trainer';

export type Post = (message: FromWorker, transfer?: Transferable[]) => void;

/** Starts the backend the run trains on. */
export type PrepareBackend = (manifest: ModelManifest, shards: ArrayBuffer[]) => Promise<BackendChoice>;

/** Refuses a request whose parts share a sequence (by id) or that holds nothing out. */
function checkParts(split: FinetuneParts): void {
  const seen = new Map<string, string>();
  for (const part of ['train', 'validation', 'heldOut'] as const) {
    for (const s of split[part]) {
      const other = seen.get(s.id);
      if (other) throw new Error(`sequence "${s.id}" is in both the ${other} and the ${part} part`);
      seen.set(s.id, part);
    }
  }
  if (split.heldOut.length === 0) throw new Error('no held-out sequences to compare the models on');
  if (split.selection === 'validation' && split.validation.length === 0)
    throw new Error('epoch selection on validation needs validation sequences');
}

/**
 * DRO fine-tuning uses the base model's own DRO hyperparameters (chosen on valid when it was
 * pretrained, docs/RESULTS.md); a base without them gets the defaults.
 */
export function finetuneObjective(
  choice: FinetuneSettings['objective'],
  training: Record<string, unknown>,
): ObjectiveSpec {
  if (choice !== 'dro') return { name: choice };
  const o = training.objective as Partial<ObjectiveSpec> | undefined;
  if (!o || typeof o !== 'object' || o.name !== 'dro') return { name: 'dro' };
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  const dro = Object.fromEntries(Object.entries(o.dro ?? {}).filter(([k, v]) => k in DEFAULT_DRO && finite(v)));
  return { name: 'dro', ...(finite(o.tau) ? { tau: o.tau } : {}), dro };
}

/**
 * Moves the output biases to the train part's behavior frequencies (alignOutputPrior). With a
 * validation part the move competes with the unmoved start on validation loss and is undone
 * when it does not help: on some data the model's own frequencies are the better start.
 */
export async function matchFrequencies(
  m: LoadedModel,
  train: readonly BehaviorSequence[],
  validation: readonly BehaviorSequence[],
): Promise<PreparedInfo['frequencies']> {
  if (validation.length === 0) {
    await alignOutputPrior(m.model, train, m.behaviors, m.locations);
    return { matched: true };
  }
  const bias = m.model.params.get('head.out.b');
  if (!bias) throw new Error('the model has no output bias "head.out.b"');
  const unmoved = tf.keep(bias.clone());
  try {
    const unmatched = (await evaluateModel(m.model, validation, m.behaviors, m.locations)).loss;
    await alignOutputPrior(m.model, train, m.behaviors, m.locations);
    const matched = (await evaluateModel(m.model, validation, m.behaviors, m.locations)).loss;
    const keep = matched <= unmatched;
    if (!keep) bias.assign(unmoved);
    return { matched: keep, validationLoss: { unmatched, matched } };
  } finally {
    unmoved.dispose();
  }
}

/**
 * The base extended with the training part's new behaviors, its output biases matched to the
 * data when the validation part agrees: the adapted arm's starting point. Returns a new model
 * (the caller disposes it and still owns `base`).
 */
export async function prepareAdapted(
  base: LoadedModel,
  train: readonly BehaviorSequence[],
  validation: readonly BehaviorSequence[],
): Promise<{ adapted: LoadedModel; added: string[]; frequencies: PreparedInfo['frequencies'] }> {
  const added = newBehaviors(
    train.flatMap((s) => s.events.map((e) => e.behavior)),
    base.behaviors,
  );
  let adapted = await extendVocabulary(base, added);
  // Nothing new: extendVocabulary returns the base itself; the arm must not change the caller's model.
  if (adapted === base) adapted = modelCopy(base);
  // Start from this person's behavior frequencies, not the pretraining data's (docs/FINETUNE.md).
  const frequencies = await matchFrequencies(adapted, train, validation);
  return { adapted, added, frequencies };
}

function modelCopy(m: LoadedModel): LoadedModel {
  const tensors = Object.fromEntries([...m.model.params].map(([name, v]) => [name, v as tf.Tensor]));
  return { ...m, model: BehaveGPT.fromTensors(m.model.config, tensors) };
}

/**
 * The from-scratch arm's model: the base's architecture (behavior network only, no time head)
 * with the training part's behaviors as its vocabulary, freshly initialised from `seed`.
 */
export function scratchModel(
  base: LoadedModel,
  train: readonly BehaviorSequence[],
  seed: number,
): { model: BehaveGPT; behaviors: Vocabulary; locations: Vocabulary } {
  const { behaviors } = buildVocabularies(train);
  const config = buildConfig(behaviors, base.locations, { ...base.model.config, timeHead: false });
  return { model: BehaveGPT.create(config, seed), behaviors, locations: base.locations };
}

/** Why a run stopped, from the trainer's result. */
export function stopInfo(result: TrainResult, hasValidation: boolean): StopInfo {
  if (!hasValidation) return { reason: 'no-validation', stillImproving: false };
  if (result.stoppedEarly) return { reason: 'patience', stillImproving: false };
  const last = result.history.at(-1);
  return { reason: 'budget', stillImproving: last !== undefined && last.epoch === result.bestEpoch };
}

export interface ArmOptions {
  budget: TrainingBudget;
  batchSize: number;
  schedule: FinetuneSchedule;
  seed: number;
  objective: ObjectiveSpec;
  trainable?: (name: string) => boolean;
  /** The model before training competes with the trained epochs (a continued run: never worse on validation than where it stopped). */
  startCompetes?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
  /**
   * For the experiments that choose the defaults only: a validation check after every epoch and a
   * longer patience. With the constant schedule the steps taken are the same as under the
   * protocol (checks do not touch the training random stream), so any patience and budget can be
   * replayed from the recorded checks (simulateStopping, src/experiments/own-data/select.ts).
   */
  longRun?: { patience: number; maxEpochs: number };
}

/** Trains one arm under the protocol's schedule (protocolTrainOptions): the one training loop of every fine-tuning run. */
export async function trainArm(
  m: { model: BehaveGPT; behaviors: Vocabulary; locations: Vocabulary },
  train: readonly BehaviorSequence[],
  validation: readonly BehaviorSequence[],
  o: ArmOptions,
): Promise<{ result: TrainResult; stop: StopInfo }> {
  const result = await trainModel(m.model, train, validation, m.behaviors, m.locations, {
    ...protocolTrainOptions(o.budget, o.batchSize, o.schedule),
    ...(o.longRun ? { evaluateEvery: 0, patience: o.longRun.patience, epochs: o.longRun.maxEpochs, minSteps: 0 } : {}),
    seed: o.seed,
    objective: o.objective,
    startCompetes: o.startCompetes ?? false,
    trainable: o.trainable,
    signal: o.signal,
    onProgress: o.onProgress,
  });
  return { result, stop: stopInfo(result, validation.length > 0) };
}

/** The budget in epochs once small data is raised to the minimum steps (what trainModel will run at most). */
export function budgetEpochs(budget: TrainingBudget, stepsPerEpoch: number, schedule: FinetuneSchedule): number {
  const o = protocolTrainOptions(budget, 1, schedule);
  return stepsPerEpoch === 0 ? 0 : Math.max(o.epochs, Math.ceil((o.minSteps ?? 0) / stepsPerEpoch));
}

function progressPoint(
  p: TrainProgress,
  arm: Arm,
  offset: { epochs: number; steps: number },
  hasValidation: boolean,
): ProgressPoint {
  return {
    arm,
    kind: p.kind,
    epoch: p.epoch + offset.epochs,
    step: p.step + offset.steps,
    totalSteps: p.totalSteps + offset.steps,
    loss: p.loss,
    stepsPerSecond: p.stepsPerSecond,
    tokensPerSecond: p.tokensPerSecond,
    etaSeconds: p.etaSeconds,
    learningRate: p.learningRate,
    validation: p.valid && hasValidation ? { ...p.valid.metrics, loss: p.valid.loss } : undefined,
    improved: p.improved,
  };
}

function armSummary(
  result: TrainResult,
  stop: StopInfo,
  learningRate: number,
  offset: { epochs: number; steps: number; seconds: number },
): ArmSummary {
  return {
    // A continued run that kept its start reports the epoch it started from.
    epochsRun: result.epochsRun + offset.epochs,
    bestEpoch: result.bestEpoch === 0 ? offset.epochs : result.bestEpoch + offset.epochs,
    steps: result.steps + offset.steps,
    seconds: result.seconds + offset.seconds,
    stop,
    learningRate,
  };
}

export async function runFinetune(
  request: StartMessage,
  post: Post,
  signal: AbortSignal,
  prepareBackend: PrepareBackend,
): Promise<void> {
  const t0 = performance.now();
  const { runId, settings, continueFrom } = request;
  const stage = (message: string) => post({ type: 'stage', runId, message });
  const manifest = validateManifest(JSON.parse(request.base.manifestText), 'base model');
  const shards = request.base.shards;
  checkParts(request.split);

  stage('choosing a backend');
  const backend = await prepareBackend(manifest, shards);
  post({ type: 'backend', runId, backend });

  let base: LoadedModel | null = null;
  let adapted: LoadedModel | null = null;
  let stored: LoadedModel | null = null;
  let scratch: { model: BehaveGPT } | null = null;
  try {
    base = modelFromArtifacts(manifest, shards);
    const train = fitLocations(request.split.train, base.locations);
    const validation = fitLocations(request.split.validation, base.locations);
    const heldOut = fitLocations(request.split.heldOut, base.locations);
    const { selection, source } = request.split;
    const stepsPerEpoch = Math.ceil(toExamples(train, base.model.config.contextLength).length / settings.batchSize);
    if (stepsPerEpoch === 0) throw new Error('no training events after the split');
    // An adapted model keeps its base's training record (and with it the DRO settings): a continued run reads the same.
    const objective = finetuneObjective(settings.objective, manifest.training);

    // The base model cannot name new behaviors: their targets count as misses, as they should.
    let before: MetricSet;
    if (continueFrom) before = continueFrom.before;
    else {
      stage('evaluating the base model on the held-out sequences');
      before = (await evaluateModel(base.model, heldOut, base.behaviors, base.locations)).metrics;
    }
    post({ type: 'evaluated', runId, which: 'before', metrics: before });
    stage('fitting Markov-2 and popularity on the training sequences');
    const baselines = continueFrom?.baselines ?? scoreBaselines(train, heldOut);
    post({ type: 'baselines', runId, baselines });

    let added: string[];
    let frequencies: PreparedInfo['frequencies'];
    if (continueFrom) {
      // The kept model already knows the training part's behaviors and starts where it stopped.
      adapted = base;
      base = null;
      ({ newBehaviors: added, frequencies } = continueFrom);
    } else {
      stage('adding new behaviors and matching the behavior frequencies of the data');
      ({ adapted, added, frequencies } = await prepareAdapted(base, train, validation));
    }
    const config = adapted.model.config;
    post({
      type: 'prepared',
      runId,
      info: {
        trainSequences: train.length,
        validationSequences: validation.length,
        heldOutSequences: heldOut.length,
        heldOutTargets: before.targets ?? 0,
        selection,
        source,
        newBehaviors: added,
        frequencies,
        parameters: countParameters(config),
        trainableParameters: countParameters(config, (n) => isTrainable(settings.trainable, n)),
        budgetEpochs: budgetEpochs(settings, stepsPerEpoch, settings.schedule),
        stepsPerEpoch,
      },
    });

    stage('training');
    const offset = {
      epochs: continueFrom?.epochs ?? 0,
      steps: continueFrom?.steps ?? 0,
      seconds: continueFrom?.seconds ?? 0,
    };
    // The epoch is picked on validation (none: the last epoch is kept); never on held-out.
    const { result, stop } = await trainArm(adapted, train, validation, {
      budget: settings,
      batchSize: settings.batchSize,
      schedule: settings.schedule,
      // A continued run draws other batches than the first epochs did (still deterministic).
      seed: settings.seed + offset.epochs,
      objective,
      trainable: (name) => isTrainable(settings.trainable, name),
      startCompetes: continueFrom !== undefined,
      signal,
      onProgress: (p) =>
        post({ type: 'progress', runId, progress: progressPoint(p, 'adapted', offset, validation.length > 0) }),
    });
    // trainModel has put the pre-training weights back; nothing is serialized or kept.
    if (result.cancelled) {
      post({ type: 'cancelled', runId });
      return;
    }
    const summary = armSummary(result, stop, settings.learningRate, offset);

    stage('saving the adapted model');
    const date = new Date();
    const finetune: Record<string, unknown> = {
      data: request.dataName,
      date: date.toISOString(),
      backend: backend.name,
      settings,
      split: source,
      newBehaviors: added,
      trainSequences: train.length,
      validationSequences: validation.length,
      heldOutSequences: heldOut.length,
      selection,
      ...summary,
      ...(continueFrom ? { continued: true } : {}),
      before,
      baselines,
    };
    // The pretraining figures describe the base model on SmartThings splits, not this one.
    const training = {
      ...withoutSplitFigures(manifest.training),
      base: continueFrom?.baseName ?? manifest.name,
      finetune,
    };
    const { manifest: outManifest, shards: outShards } = await serializeModel(
      { model: adapted.model, behaviors: adapted.behaviors, locations: adapted.locations, name: 'adapted', training },
      { dtype: 'uint8' },
    );
    const buffers = outShards.map((s) => s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength) as ArrayBuffer);

    stage('evaluating the adapted model on the held-out sequences');
    // Evaluated as stored (int8), so the numbers shown are those of the model that is kept.
    stored = modelFromArtifacts(outManifest, buffers);
    const after = (await evaluateModel(stored.model, heldOut, stored.behaviors, stored.locations)).metrics;
    post({ type: 'evaluated', runId, which: 'after', metrics: after });
    finetune.after = after;
    outManifest.name = adaptedModelName({
      dataName: request.dataName,
      objective: settings.objective,
      learningRate: settings.learningRate,
      epochsRun: summary.epochsRun,
      bestEpoch: summary.bestEpoch,
      seed: settings.seed,
      date,
      heldOutRecall5: after['weighted_recall@5'],
      continued: continueFrom !== undefined,
    });
    post(
      {
        type: 'adapted',
        runId,
        outcome: {
          files: { manifestText: JSON.stringify(outManifest), shards: buffers },
          before,
          after,
          baselines,
          ...summary,
          wallSeconds: (performance.now() - t0) / 1000,
        },
      },
      buffers,
    );
    adapted.model.dispose();
    adapted = null;

    if (settings.compareScratch && !continueFrom) {
      stage('training the same architecture from scratch (for the comparison)');
      const fresh = scratchModel(stored, train, settings.seed);
      scratch = fresh;
      const s = await trainArm(fresh, train, validation, {
        budget: settings.scratch,
        batchSize: settings.batchSize,
        schedule: settings.scratch.schedule,
        seed: settings.seed,
        objective,
        signal,
        onProgress: (p) =>
          post({
            type: 'progress',
            runId,
            progress: progressPoint(p, 'scratch', { epochs: 0, steps: 0 }, validation.length > 0),
          }),
      });
      if (s.result.cancelled) {
        post({ type: 'cancelled', runId });
        return;
      }
      stage('evaluating the from-scratch model on the held-out sequences');
      const metrics = (await evaluateModel(fresh.model, heldOut, fresh.behaviors, fresh.locations)).metrics;
      post({ type: 'evaluated', runId, which: 'scratch', metrics });
      post({
        type: 'scratch',
        runId,
        outcome: {
          metrics,
          ...armSummary(s.result, s.stop, settings.scratch.learningRate, { epochs: 0, steps: 0, seconds: 0 }),
        },
      });
    }
    post({ type: 'done', runId });
  } finally {
    base?.model.dispose();
    adapted?.model.dispose();
    stored?.model.dispose();
    scratch?.model.dispose();
  }
}

/** A training record without its `valid` / `test` figures (they describe another model on other data). */
function withoutSplitFigures(training: Record<string, unknown>): Record<string, unknown> {
  const { valid: _valid, test: _test, base: _base, finetune: _finetune, ...rest } = training;
  return rest;
}
