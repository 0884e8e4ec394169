/**
 * Experiment runs: each run (dataset × config × objective × seed; run-spec.ts) trains with early
 * stopping on valid, is evaluated on test, and is saved as one JSON record; a rerun skips runs
 * whose record exists. Records are small and committed; model weights go to an ignored folder.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRefresh, type BehaviorSequence } from '../core/events';
import { behaviorCounts } from '../core/baselines';
import { fullMetrics } from '../core/evaluation';
import { headBehaviors, rankingMetrics } from '../core/metrics';
import { BehaveGPT, countParameters, isEmbeddingParameter, type BehaveGPTConfig } from '../model/behavegpt';
import { nestedSubset } from '../core/data';
import { toExamples } from '../core/batch';
import { evaluateModel, type EvaluationResult } from '../train/evaluate';
import { alignOutputPrior } from '../train/calibration';
import { buildConfig, buildVocabularies } from '../train/recipe';
import { trainModel } from '../train/trainer';
import type { DatasetSplits } from './data';
import { loadModelDir, saveModelDir } from './model-files';
import { recordFromJson, runId, type RecordLookup, type RunRecord, type RunSpec } from './run-spec';
import { newBehaviors } from '../core/finetune';
import { extendVocabulary } from '../model/extend';
import { createRng, shuffle } from '../core/random';
import type { Vocabulary } from '../core/vocab';

/** A record from a folder of records, or null when the run has none. */
export function readRecord(dir: string, id: string): RunRecord | null {
  const path = join(dir, `${id}.json`);
  return existsSync(path) ? recordFromJson(JSON.parse(readFileSync(path, 'utf8'))) : null;
}

/** Looks records up in a folder (read on every call: other shards add records while a plan runs). */
export function recordLookup(dir: string): RecordLookup {
  return (spec) => readRecord(dir, runId(spec));
}

export interface RunOptions {
  recordsDir: string;
  /** Where trained weights (float32) are kept, or undefined to not keep them. */
  modelsDir?: string;
  commit: string;
  log?: (line: string) => void;
}

/** Trains and evaluates one run, or returns its saved record. */
export async function runOne(spec: RunSpec, data: DatasetSplits, options: RunOptions): Promise<RunRecord> {
  const id = runId(spec);
  const existing = readRecord(options.recordsDir, id);
  if (existing) return existing;
  const log = options.log ?? (() => {});
  const full = trainSplit(spec, data);
  let train = spec.fraction === undefined ? full : nestedSubset(full, spec.fraction);
  if (spec.kShot) train = kShotWithRehearsal(train, spec.kShot, spec.seed);
  const { model, behaviors, locations } = await initialModel(spec, full);
  const groups = spec.withhold ?? spec.kShot?.behaviors;
  const config = model.config;
  try {
    if (spec.alignPrior) await alignOutputPrior(model, train, behaviors, locations);
    const t0 = performance.now();
    let lastLog = 0;
    const result = await trainModel(model, train, data.valid, behaviors, locations, {
      ...spec.train,
      objective: spec.objective,
      seed: spec.seed,
      ...(spec.kShot?.maxOldDrop !== undefined
        ? { eligible: oldBehaviorsKept(spec.kShot.behaviors, spec.kShot.maxOldDrop) }
        : {}),
      onProgress: (p) => {
        if (p.kind === 'epoch')
          log(
            `${id}: epoch ${p.epoch} valid loss ${p.valid!.loss.toFixed(4)} R@1 ${p.valid!.metrics['weighted_recall@1'].toFixed(4)} macroR@5 ${p.valid!.metrics['macro_recall@5'].toFixed(4)}${p.improved ? ' *' : ''}`,
          );
        else if (performance.now() - lastLog > 30_000) {
          lastLog = performance.now();
          log(`${id}: step ${p.step}/${p.totalSteps} ${p.stepsPerSecond.toFixed(1)} steps/s`);
        }
      },
    });
    const head = headBehaviors(behaviorCounts(train));
    const trainTargets = countTrainTargets(train, config.contextLength);
    const evaluation = await evaluateOnTest(spec, { model, behaviors, locations }, data);
    const record: RunRecord = {
      id,
      spec,
      parameters: model.parameterCount,
      nonEmbeddingParameters: countParameters(config, (n) => !isEmbeddingParameter(n)),
      trainTargets,
      targetsSeen: trainTargets * result.epochsRun,
      valid: { loss: result.best.loss, ...result.best.metrics },
      test: {
        all: fullMetrics(evaluation.targets, head),
        'no-refresh': fullMetrics(
          evaluation.targets.filter((t) => !isRefresh(t.behavior)),
          head,
        ),
        ...(groups
          ? {
              'new-behaviors': fullMetrics(
                evaluation.targets.filter((t) => groups.includes(t.behavior)),
                head,
              ),
              'old-behaviors': fullMetrics(
                evaluation.targets.filter((t) => !groups.includes(t.behavior)),
                head,
              ),
            }
          : {}),
      },
      testLoss: evaluation.loss,
      ...(evaluation.time && result.best.time ? { time: { valid: result.best.time, test: evaluation.time } } : {}),
      bestEpoch: result.bestEpoch,
      epochsRun: result.epochsRun,
      steps: result.steps,
      seconds: Math.round((performance.now() - t0) / 1000),
      date: new Date().toISOString(),
      commit: options.commit,
    };
    if (options.modelsDir) {
      await saveModelDir(
        join(options.modelsDir, id),
        { model, behaviors, locations, name: id, training: { ...record, spec } },
        { dtype: 'float32' },
      );
    }
    mkdirSync(options.recordsDir, { recursive: true });
    // Write-then-rename: an interrupted run never leaves a half record that would be skipped.
    const path = join(options.recordsDir, `${id}.json`);
    writeFileSync(`${path}.tmp`, `${JSON.stringify(record, null, 1)}\n`);
    renameSync(`${path}.tmp`, path);
    log(
      `${id}: done in ${record.seconds}s, test R@1 ${record.test.all['weighted_recall@1'].toFixed(4)} macroR@5 ${record.test.all['macro_recall@5'].toFixed(4)}`,
    );
    return record;
  } finally {
    model.dispose();
  }
}

/** The whole train split a run draws from (its fraction is taken later): without the `withhold` behaviors. */
function trainSplit(spec: RunSpec, data: DatasetSplits): BehaviorSequence[] {
  return spec.withhold ? withholdBehaviors(data.train, new Set(spec.withhold)) : data.train;
}

/**
 * A run's model on the test split as its record scores it: with `rankTrainBehaviors`, only the
 * behaviors of the whole train split (after `withhold`) are ranked.
 */
export async function evaluateOnTest(
  spec: RunSpec,
  m: { model: BehaveGPT; behaviors: Vocabulary; locations: Vocabulary },
  data: DatasetSplits,
): Promise<EvaluationResult> {
  const seen = spec.rankTrainBehaviors ? behaviorCounts(trainSplit(spec, data)) : null;
  return evaluateModel(m.model, data.test, m.behaviors, m.locations, seen ? { candidate: (b) => seen.has(b) } : {});
}

/** Targets one epoch trains on: every event of every window that counts (the trainer's examples). */
export function countTrainTargets(train: readonly BehaviorSequence[], contextLength: number): number {
  return toExamples(train, contextLength).reduce((n, e) => n + e.events.length - e.firstTarget, 0);
}

/** The model config of a run trained from scratch, given the vocabularies of its whole train split. */
export function runConfig(
  spec: RunSpec,
  vocabularies: { behaviors: Vocabulary; locations: Vocabulary },
): BehaveGPTConfig {
  return buildConfig(vocabularies.behaviors, vocabularies.locations, spec.config);
}

/** The model a run starts from: fresh (vocabulary of the whole train split), or a pretrained one extended with the split's new behaviors. */
async function initialModel(
  spec: RunSpec,
  train: readonly BehaviorSequence[],
): Promise<{ model: BehaveGPT; behaviors: Vocabulary; locations: Vocabulary }> {
  if (!spec.init) {
    // The vocabulary comes from the whole train split, so every fraction ranks and scores the same label set.
    const vocabularies = buildVocabularies(train);
    return { model: BehaveGPT.create(runConfig(spec, vocabularies), spec.seed), ...vocabularies };
  }
  const base = loadModelDir(spec.init);
  // Zero-shot scores the base as it is; a k-shot spec with 0 epochs scores it with the new behaviors added.
  if (spec.train?.epochs === 0 && !spec.kShot) return base;
  const added = newBehaviors(
    train.flatMap((s) => s.events.map((e) => e.behavior)),
    base.behaviors,
  );
  return extendVocabulary(base, added);
}

/** The train split without the events of `behaviors` (sequences left empty are dropped). */
export function withholdBehaviors(
  train: readonly BehaviorSequence[],
  behaviors: ReadonlySet<string>,
): BehaviorSequence[] {
  return train
    .map((s) => ({ ...s, events: s.events.filter((e) => !behaviors.has(e.behavior)) }))
    .filter((s) => s.events.length > 0);
}

/** Epoch eligibility: weighted recall@5 on targets outside `behaviors` at most `maxDrop` below the untrained model's. */
export function oldBehaviorsKept(
  behaviors: readonly string[],
  maxDrop: number,
): (result: EvaluationResult, initial: EvaluationResult) => boolean {
  const set = new Set(behaviors);
  const oldRecall5 = (r: EvaluationResult) =>
    rankingMetrics(r.targets.filter((t) => !set.has(t.behavior)))['weighted_recall@5'];
  return (result, initial) => oldRecall5(result) >= oldRecall5(initial) - maxDrop;
}

/** The k-shot sequences plus `rehearsal` × as many random train sequences holding none of the behaviors (seeded by `seed`). */
export function kShotWithRehearsal(
  train: readonly BehaviorSequence[],
  kShot: NonNullable<RunSpec['kShot']>,
  seed: number,
): BehaviorSequence[] {
  const shots = kShotSequences(train, kShot.behaviors, kShot.k);
  if (!kShot.rehearsal) return shots;
  const set = new Set(kShot.behaviors);
  const others = train.filter((s) => !s.events.some((e) => set.has(e.behavior)));
  const replay = shuffle([...others], createRng(1000 + seed)).slice(0, Math.round(kShot.rehearsal * shots.length));
  return [...shots, ...replay];
}

/**
 * Sequences that together hold at least k events of each behavior: for each behavior in turn,
 * sequences containing it are added in a fixed random order until it has k (fewer if the split
 * has fewer). Deterministic; a sequence is used once.
 */
export function kShotSequences(
  train: readonly BehaviorSequence[],
  behaviors: readonly string[],
  k: number,
): BehaviorSequence[] {
  const order = shuffle(
    train.map((_, i) => i),
    createRng(12345),
  );
  const chosen = new Set<number>();
  const count = (b: string) =>
    [...chosen].reduce((n, i) => n + train[i].events.filter((e) => e.behavior === b).length, 0);
  for (const b of behaviors) {
    let have = count(b);
    for (const i of order) {
      if (have >= k) break;
      if (chosen.has(i)) continue;
      const n = train[i].events.filter((e) => e.behavior === b).length;
      if (n === 0) continue;
      chosen.add(i);
      have += n;
    }
  }
  return train.filter((_, i) => chosen.has(i));
}
