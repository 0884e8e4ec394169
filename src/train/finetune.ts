/**
 * One on-device fine-tuning run, as the worker executes it (and the unit tests call it in
 * Node): base model from its files → base evaluated on the held-out part → new behaviors added
 * to the vocabulary and output biases moved to the data's behavior frequencies (kept if the
 * validation part agrees) → trained on the train part (DRO by default), the epoch picked on the
 * validation part → adapted model serialized (int8) and evaluated on the held-out part as
 * stored. The split by sequence comes with the request (buildStartMessage); the held-out part
 * is used for the before/after report and nothing else. Nothing here touches the page; `post`
 * carries every message out.
 */
import * as tf from '@tensorflow/tfjs-core';
import { toExamples } from '../core/batch';
import { DEFAULT_DRO } from '../core/dro';
import type { BehaviorSequence } from '../core/events';
import { fitLocations, newBehaviors } from '../core/finetune';
import type { MetricSet } from '../core/metrics';
import { countParameters } from '../model/behavegpt';
import { extendVocabulary } from '../model/extend';
import type { BackendChoice } from '../model/pipeline-types';
import { modelFromArtifacts, serializeModel, validateManifest, type LoadedModel, type ModelManifest } from '../model/weights';
import { evaluateModel } from './evaluate';
import { alignOutputPrior } from './calibration';
import { isTrainable, type FinetuneParts, type FromWorker, type PreparedInfo, type StartMessage } from './finetune-protocol';
import type { ObjectiveSpec } from './losses';
import { trainModel } from './trainer';

export type Post = (message: FromWorker, transfer?: Transferable[]) => void;

/** Starts the backend the run trains on; `measure` times one prediction on the current backend. */
export type PrepareBackend = (manifest: ModelManifest, shards: ArrayBuffer[]) => Promise<BackendChoice>;

/** Warm-up of at most a tenth of the run: fine-tuning runs are short, the pretraining 100 steps would be most of one. */
function warmupFor(totalSteps: number): number {
  return Math.max(1, Math.min(100, Math.ceil(totalSteps / 10)));
}

function evaluationTargets(metrics: MetricSet): number {
  return metrics.targets ?? 0;
}

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
  if (split.selection === 'validation' && split.validation.length === 0) throw new Error('epoch selection on validation needs validation sequences');
}

/**
 * DRO fine-tuning uses the base model's own DRO hyperparameters (chosen on valid when it was
 * pretrained, docs/RESULTS.md); a base without them gets the defaults.
 */
export function finetuneObjective(choice: StartMessage['settings']['objective'], training: Record<string, unknown>): ObjectiveSpec {
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
export async function matchFrequencies(m: LoadedModel, train: readonly BehaviorSequence[], validation: readonly BehaviorSequence[]): Promise<PreparedInfo['frequencies']> {
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

export async function runFinetune(request: StartMessage, post: Post, signal: AbortSignal, prepareBackend: PrepareBackend): Promise<void> {
  const { runId, settings } = request;
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
  try {
    base = modelFromArtifacts(manifest, shards);
    const train = fitLocations(request.split.train, base.locations);
    const validation = fitLocations(request.split.validation, base.locations);
    const heldOut = fitLocations(request.split.heldOut, base.locations);
    const selection: FinetuneParts['selection'] = validation.length > 0 ? 'validation' : 'last-epoch';
    const added = newBehaviors(
      [...train, ...validation, ...heldOut].flatMap((s) => s.events.map((e) => e.behavior)),
      base.behaviors,
    );
    if (toExamples(train, base.model.config.contextLength).length === 0) throw new Error('no training events after the split');

    stage('evaluating the base model on the held-out sequences');
    // The base model cannot name new behaviors: their targets count as misses, as they should.
    const before = (await evaluateModel(base.model, heldOut, base.behaviors, base.locations)).metrics;
    post({ type: 'evaluated', runId, which: 'before', metrics: before });

    adapted = await extendVocabulary(base, added);
    if (adapted === base) base = null; // same object: dispose once (the base was already evaluated)
    // Start from this person's behavior frequencies, not the pretraining data's (docs/FINETUNE.md).
    stage('matching the model to the behavior frequencies of the data');
    const frequencies = await matchFrequencies(adapted, train, validation);
    const config = adapted.model.config;
    post({
      type: 'prepared',
      runId,
      info: {
        trainSequences: train.length,
        validationSequences: validation.length,
        heldOutSequences: heldOut.length,
        heldOutTargets: evaluationTargets(before),
        selection,
        newBehaviors: added,
        frequencies,
        parameters: countParameters(config),
        trainableParameters: countParameters(config, (n) => isTrainable(settings.trainable, n)),
      },
    });

    stage('training');
    const totalSteps = Math.ceil(toExamples(train, config.contextLength).length / settings.batchSize) * settings.epochs;
    // The epoch is picked on validation (none: the last epoch is kept); never on held-out.
    const result = await trainModel(adapted.model, train, validation, adapted.behaviors, adapted.locations, {
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      learningRate: settings.learningRate,
      warmupSteps: warmupFor(totalSteps),
      // Every epoch the person asked for runs; the one with the lowest validation loss is kept.
      patience: settings.epochs,
      seed: settings.seed,
      objective: finetuneObjective(settings.objective, manifest.training),
      selectBy: 'loss',
      trainable: (name) => isTrainable(settings.trainable, name),
      signal,
      onProgress: (p) =>
        post({
          type: 'progress',
          runId,
          progress: {
            kind: p.kind,
            epoch: p.epoch,
            step: p.step,
            totalSteps: p.totalSteps,
            loss: p.loss,
            stepsPerSecond: p.stepsPerSecond,
            tokensPerSecond: p.tokensPerSecond,
            etaSeconds: p.etaSeconds,
            learningRate: p.learningRate,
            validation: p.valid && validation.length > 0 ? { ...p.valid.metrics, loss: p.valid.loss } : undefined,
            improved: p.improved,
          },
        }),
    });
    // trainModel has put the pre-training weights back; nothing is serialized or kept.
    if (result.cancelled) {
      post({ type: 'cancelled', runId });
      return;
    }

    stage('saving the adapted model');
    const training = {
      ...manifest.training,
      base: manifest.name,
      finetune: {
        data: request.dataName,
        date: new Date().toISOString(),
        backend: backend.name,
        settings,
        newBehaviors: added,
        trainSequences: train.length,
        validationSequences: validation.length,
        heldOutSequences: heldOut.length,
        selection,
        epochsRun: result.epochsRun,
        bestEpoch: result.bestEpoch,
        steps: result.steps,
        seconds: result.seconds,
        before,
      },
    };
    // The pretraining figures describe the base model on SmartThings splits, not this one.
    delete (training as Record<string, unknown>).valid;
    delete (training as Record<string, unknown>).test;
    const { manifest: outManifest, shards: outShards } = await serializeModel(
      { model: adapted.model, behaviors: adapted.behaviors, locations: adapted.locations, name: request.name, training },
      { dtype: 'uint8' },
    );
    const buffers = outShards.map((s) => s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength) as ArrayBuffer);

    stage('evaluating the adapted model on the held-out sequences');
    // Evaluated as stored (int8), so the numbers shown are those of the model that is kept.
    stored = modelFromArtifacts(outManifest, buffers);
    const after = (await evaluateModel(stored.model, heldOut, stored.behaviors, stored.locations)).metrics;
    post({ type: 'evaluated', runId, which: 'after', metrics: after });
    (outManifest.training.finetune as Record<string, unknown>).after = after;

    post(
      {
        type: 'done',
        runId,
        outcome: {
          files: { manifestText: JSON.stringify(outManifest), shards: buffers },
          before,
          after,
          epochsRun: result.epochsRun,
          bestEpoch: result.bestEpoch,
          steps: result.steps,
          seconds: result.seconds,
        },
      },
      buffers,
    );
  } finally {
    base?.model.dispose();
    adapted?.model.dispose();
    stored?.model.dispose();
  }
}
