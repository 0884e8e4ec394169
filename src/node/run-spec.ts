/**
 * What an experiment run is (RunSpec), what it leaves behind (RunRecord) and its id, which is
 * also its record's file name in results/runs. Pure: the plans, selections and reports of
 * src/experiments use these without touching files.
 */
import { basename } from 'node:path';
import type { MetricSet } from '../core/metrics';
import type { BehaveGPTConfig } from '../model/behavegpt';
import type { TimeHeadMetrics } from '../train/evaluate';
import type { ObjectiveSpec } from '../train/losses';
import type { TrainOptions } from '../train/trainer';

export interface RunSpec {
  dataset: string;
  objective: ObjectiveSpec;
  seed: number;
  /** Share of the train split's sequences used (nested subsets; see nestedSubset). All when omitted. */
  fraction?: number;
  /**
   * Overrides of DEFAULT_CONFIG (vocabulary sizes come from the data). `useContext: false` is the
   * context-free ablation (behavior stream only, SASRec-like).
   */
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

/** The record of a spec, or null while it is not finished (a folder of records, or records in memory). */
export type RecordLookup = (spec: RunSpec) => RunRecord | null;

/** Thrown while a choice needs runs that are not finished yet (another shard may be doing them). */
export class NotFinishedError extends Error {}

/** Whether a spec is the context-free ablation. */
export const isContextFree = (spec: RunSpec): boolean => spec.config?.useContext === false;

/**
 * A readable, unique id for a spec: every setting that changes the result is in it. The model
 * part is `context-free` for `useContext: false` and `behavegpt` otherwise, and `useContext`
 * itself is left out of the config part: the ids of records written when specs named the
 * ablation `model: 'context-free'` stay the same.
 */
export function runId(spec: RunSpec): string {
  const o = spec.objective;
  const parts = [spec.dataset, isContextFree(spec) ? 'context-free' : 'behavegpt', o.name];
  if (o.tau !== undefined) parts.push(`tau${o.tau}`);
  if (o.beta !== undefined) parts.push(`beta${o.beta}`);
  if (o.labelSmoothing) parts.push(`ls${o.labelSmoothing}`);
  for (const [k, v] of Object.entries(o.dro ?? {}).sort()) parts.push(`${k}${v}`);
  for (const [k, v] of Object.entries(spec.config ?? {}).sort()) if (k !== 'useContext') parts.push(`${k}${v}`);
  for (const [k, v] of Object.entries(spec.train ?? {}).sort())
    parts.push(
      typeof v === 'object'
        ? `${k}-${Object.entries(v)
            .map(([a, b]) => `${a}${b}`)
            .join('-')}`
        : `${k}${v}`,
    );
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

/**
 * A record as read from its file. Records written before specs carried the ablation in their
 * config name it `model: 'context-free' | 'behavegpt'`; that field becomes `config.useContext`.
 */
export function recordFromJson(json: RunRecord & { spec: RunSpec & { model?: string } }): RunRecord {
  if (!('model' in json.spec)) return json;
  const { model, ...spec } = json.spec;
  return {
    ...json,
    spec: model === 'context-free' ? { ...spec, config: { ...spec.config, useContext: false } } : spec,
  };
}
