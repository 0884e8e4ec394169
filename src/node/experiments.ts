/**
 * A resumable experiment runner: each run (dataset × model × objective × seed) trains with early
 * stopping on valid, is evaluated on test, and is saved as one JSON record; a rerun skips runs
 * whose record exists. Records are small and committed; model weights go to an ignored folder.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRefresh, type BehaviorSequence } from '../core/events';
import { behaviorCounts } from '../core/baselines';
import { fullMetrics } from '../core/evaluation';
import { headBehaviors, rankingMetrics, type MetricSet } from '../core/metrics';
import { BehaveGPT, countParameters, isEmbeddingParameter, type BehaveGPTConfig } from '../model/behavegpt';
import { nestedSubset } from '../core/data';
import { toExamples } from '../core/batch';
import type { ObjectiveSpec } from '../train/losses';
import { evaluateModel, type EvaluationResult, type TimeHeadMetrics } from '../train/evaluate';
import { alignOutputPrior } from '../train/calibration';
import { buildConfig, buildVocabularies } from '../train/recipe';
import { trainModel, type TrainOptions } from '../train/trainer';
import { loadModelDir, saveModelDir } from './model-files';
import { basename } from 'node:path';
import { newBehaviors } from '../core/finetune';
import { extendVocabulary } from '../model/extend';
import { createRng, shuffle } from '../core/random';
import type { Vocabulary } from '../core/vocab';

export interface DatasetSplits {
  train: BehaviorSequence[];
  valid: BehaviorSequence[];
  test: BehaviorSequence[];
}

export interface RunSpec {
  dataset: string;
  /** 'behavegpt' (four streams) or 'context-free' (behavior stream only, SASRec-like). */
  model: 'behavegpt' | 'context-free';
  objective: ObjectiveSpec;
  seed: number;
  /** Share of the train split's sequences used (nested subsets; see nestedSubset). All when omitted. */
  fraction?: number;
  config?: Partial<BehaveGPTConfig>;
  /**
   * Fine-tune this pretrained model folder instead of training from scratch: behaviors of the
   * train split it does not know are added (model/extend.ts). With train.epochs 0 it is scored
   * as it is (zero-shot), without new behaviors (with `kShot`, with them added but untrained).
   */
  init?: string;
  /**
   * Test ranks only the behaviors of the (whole) train split: a model that knows more (a base
   * pretrained elsewhere) ranks the same candidates as one trained on the split alone.
   */
  rankTrainBehaviors?: boolean;
  /** With `init`: shift the output biases to the target train split's behavior frequencies first (alignOutputPrior). */
  alignPrior?: boolean;
  /** Behaviors whose events are removed from the train split: the model never sees them. */
  withhold?: string[];
  /**
   * Train only on train sequences that together hold ≥ k examples of each behavior (a fixed
   * random draw). `rehearsal`: also replay this many times as many other train sequences, drawn
   * at random among those without any of the behaviors (old data the base was pretrained on).
   * `maxOldDrop`: only epochs whose valid weighted recall@5 on the other behaviors is at most
   * this much (a fraction, 0.01 = 1 point) below the base model's can be selected.
   */
  kShot?: { behaviors: string[]; k: number; rehearsal?: number; maxOldDrop?: number };
  train?: Partial<Omit<TrainOptions, 'objective' | 'seed' | 'onProgress' | 'signal' | 'trainable' | 'eligible'>>;
}

export interface RunRecord {
  id: string;
  spec: RunSpec;
  parameters: number;
  /** Parameters outside embeddings and the output layer (absent in records older than the scaling grid). */
  nonEmbeddingParameters?: number;
  /** Training targets (events) in the train subset, and targets processed over all epochs. */
  trainTargets?: number;
  targetsSeen?: number;
  valid: MetricSet & { loss: number };
  /** Time head on valid (best epoch) and test, for models that have one. */
  time?: { valid: TimeHeadMetrics; test: TimeHeadMetrics };
  /** all / no-refresh; with `withhold` or `kShot` also new-behaviors / old-behaviors (targets of those behaviors or not). */
  test: { all: MetricSet; 'no-refresh': MetricSet; 'new-behaviors'?: MetricSet; 'old-behaviors'?: MetricSet };
  testLoss: number;
  bestEpoch: number;
  epochsRun: number;
  steps: number;
  seconds: number;
  date: string;
  commit: string;
}

/** A readable, unique id for a spec: every setting that changes the result is in it. */
export function runId(spec: RunSpec): string {
  const o = spec.objective;
  const parts = [spec.dataset, spec.model, o.name];
  if (o.tau !== undefined) parts.push(`tau${o.tau}`);
  if (o.beta !== undefined) parts.push(`beta${o.beta}`);
  if (o.labelSmoothing) parts.push(`ls${o.labelSmoothing}`);
  for (const [k, v] of Object.entries(o.dro ?? {}).sort()) parts.push(`${k}${v}`);
  for (const [k, v] of Object.entries(spec.config ?? {}).sort()) parts.push(`${k}${v}`);
  for (const [k, v] of Object.entries(spec.train ?? {}).sort()) parts.push(typeof v === 'object' ? `${k}-${Object.entries(v).map(([a, b]) => `${a}${b}`).join('-')}` : `${k}${v}`);
  if (spec.fraction !== undefined && spec.fraction !== 1) parts.push(`frac${spec.fraction}`);
  if (spec.init) parts.push(`from-${basename(spec.init)}`);
  if (spec.alignPrior) parts.push('aligned');
  if (spec.rankTrainBehaviors) parts.push('rankTrain');
  if (spec.withhold) parts.push(`withhold${spec.withhold.length}`);
  if (spec.kShot) {
    const { k, behaviors, rehearsal, maxOldDrop } = spec.kShot;
    parts.push(`k${k}of${behaviors.length}`);
    if (rehearsal) parts.push(`rehearsal${rehearsal}`);
    if (maxOldDrop !== undefined) parts.push(`maxOldDrop${maxOldDrop}`);
  }
  const id = parts.join('-').replace(/[^A-Za-z0-9_.@-]/g, '_');
  // A long id keeps its readable start plus a hash of the whole (file names stop at 255 bytes).
  return id.length <= MAX_ID ? `${id}-s${spec.seed}` : `${id.slice(0, MAX_ID - 10)}-${fnv1a(id)}-s${spec.seed}`;
}

// With "-s<seed>" and ".json.tmp" the name stays under 255 bytes; every id written before this rule was shorter.
const MAX_ID = 240;

/** 32-bit FNV-1a of a string, as 8 hex digits. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

export function readRecord(dir: string, id: string): RunRecord | null {
  const path = join(dir, `${id}.json`);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as RunRecord) : null;
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
      ...(spec.kShot?.maxOldDrop !== undefined ? { eligible: oldBehaviorsKept(spec.kShot.behaviors, spec.kShot.maxOldDrop) } : {}),
      onProgress: (p) => {
        if (p.kind === 'epoch') log(`${id}: epoch ${p.epoch} valid loss ${p.valid!.loss.toFixed(4)} R@1 ${p.valid!.metrics['weighted_recall@1'].toFixed(4)} macroR@5 ${p.valid!.metrics['macro_recall@5'].toFixed(4)}${p.improved ? ' *' : ''}`);
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
        'no-refresh': fullMetrics(evaluation.targets.filter((t) => !isRefresh(t.behavior)), head),
        ...(groups
          ? {
              'new-behaviors': fullMetrics(evaluation.targets.filter((t) => groups.includes(t.behavior)), head),
              'old-behaviors': fullMetrics(evaluation.targets.filter((t) => !groups.includes(t.behavior)), head),
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
      await saveModelDir(join(options.modelsDir, id), { model, behaviors, locations, name: id, training: { ...record, spec } }, { dtype: 'float32' });
    }
    mkdirSync(options.recordsDir, { recursive: true });
    // Write-then-rename: an interrupted run never leaves a half record that would be skipped.
    const path = join(options.recordsDir, `${id}.json`);
    writeFileSync(`${path}.tmp`, JSON.stringify(record, null, 1) + '\n');
    renameSync(`${path}.tmp`, path);
    log(`${id}: done in ${record.seconds}s, test R@1 ${record.test.all['weighted_recall@1'].toFixed(4)} macroR@5 ${record.test.all['macro_recall@5'].toFixed(4)}`);
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
export async function evaluateOnTest(spec: RunSpec, m: { model: BehaveGPT; behaviors: Vocabulary; locations: Vocabulary }, data: DatasetSplits): Promise<EvaluationResult> {
  const seen = spec.rankTrainBehaviors ? behaviorCounts(trainSplit(spec, data)) : null;
  return evaluateModel(m.model, data.test, m.behaviors, m.locations, seen ? { candidate: (b) => seen.has(b) } : {});
}

/** Targets one epoch trains on: every event of every window that counts (the trainer's examples). */
export function countTrainTargets(train: readonly BehaviorSequence[], contextLength: number): number {
  return toExamples(train, contextLength).reduce((n, e) => n + e.events.length - e.firstTarget, 0);
}

/** The model a run starts from: fresh (vocabulary of the whole train split), or a pretrained one extended with the split's new behaviors. */
async function initialModel(spec: RunSpec, train: readonly BehaviorSequence[]): Promise<{ model: BehaveGPT; behaviors: Vocabulary; locations: Vocabulary }> {
  if (!spec.init) {
    // The vocabulary comes from the whole train split, so every fraction ranks and scores the same label set.
    const { behaviors, locations } = buildVocabularies(train);
    const config = buildConfig(behaviors, locations, { ...spec.config, useContext: spec.model === 'behavegpt' });
    return { model: BehaveGPT.create(config, spec.seed), behaviors, locations };
  }
  const base = loadModelDir(spec.init);
  // Zero-shot scores the base as it is; a k-shot spec with 0 epochs scores it with the new behaviors added.
  if (spec.train?.epochs === 0 && !spec.kShot) return base;
  const added = newBehaviors(train.flatMap((s) => s.events.map((e) => e.behavior)), base.behaviors);
  return extendVocabulary(base, added);
}

/** The train split without the events of `behaviors` (sequences left empty are dropped). */
export function withholdBehaviors(train: readonly BehaviorSequence[], behaviors: ReadonlySet<string>): BehaviorSequence[] {
  return train.map((s) => ({ ...s, events: s.events.filter((e) => !behaviors.has(e.behavior)) })).filter((s) => s.events.length > 0);
}

/** Epoch eligibility: weighted recall@5 on targets outside `behaviors` at most `maxDrop` below the untrained model's. */
export function oldBehaviorsKept(behaviors: readonly string[], maxDrop: number): (result: EvaluationResult, initial: EvaluationResult) => boolean {
  const set = new Set(behaviors);
  const oldRecall5 = (r: EvaluationResult) => rankingMetrics(r.targets.filter((t) => !set.has(t.behavior)))['weighted_recall@5'];
  return (result, initial) => oldRecall5(result) >= oldRecall5(initial) - maxDrop;
}

/** The k-shot sequences plus `rehearsal` × as many random train sequences holding none of the behaviors (seeded by `seed`). */
export function kShotWithRehearsal(train: readonly BehaviorSequence[], kShot: NonNullable<RunSpec['kShot']>, seed: number): BehaviorSequence[] {
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
export function kShotSequences(train: readonly BehaviorSequence[], behaviors: readonly string[], k: number): BehaviorSequence[] {
  const order = shuffle(train.map((_, i) => i), createRng(12345));
  const chosen = new Set<number>();
  const count = (b: string) => [...chosen].reduce((n, i) => n + train[i].events.filter((e) => e.behavior === b).length, 0);
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
