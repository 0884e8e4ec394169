/**
 * The typed messages between the Fine-tune tab and its training worker. Plain data only
 * (structured clone); shards travel as transferable ArrayBuffers.
 */
import type { TrainProgress } from './trainer';
import type { BehaviorSequence } from '../core/events';
import { splitForFinetune, type FinetuneSplit, type Splittable } from '../core/finetune';
import { unpackSequences, type PackedLog, type SequenceRef } from '../core/packed-log';
import type { MetricSet } from '../core/metrics';
import type { BackendChoice, BackendName } from '../model/pipeline-types';

/** Which parameters fine-tuning updates. */
export type TrainableParts = 'all' | 'head+embeddings';
export type FinetuneObjective = 'dro' | 'ce';

export interface FinetuneSettings {
  epochs: number;
  learningRate: number;
  objective: FinetuneObjective;
  trainable: TrainableParts;
  /** Share of the imported sequences held out for the before/after evaluation only. */
  heldOutFraction: number;
  /** Share of the imported sequences that picks the best epoch (0: the last epoch is kept). */
  validationFraction: number;
  batchSize: number;
  seed: number;
  backend: BackendName | 'auto';
}

export const DEFAULT_FINETUNE_SETTINGS: FinetuneSettings = {
  epochs: 3,
  learningRate: 1e-3,
  objective: 'dro',
  trainable: 'all',
  heldOutFraction: 0.2,
  validationFraction: 0.1,
  batchSize: 32,
  seed: 0,
  backend: 'auto',
};

/** Model files in memory: model.json text and its shards in manifest path order. */
export interface ModelFilesMessage {
  manifestText: string;
  shards: ArrayBuffer[];
}

export interface StartMessage<S extends Splittable = BehaviorSequence> {
  type: 'start';
  runId: number;
  /** The model to adapt. */
  base: ModelFilesMessage;
  /**
   * The imported sequences, already split by whole sequence (splitForFinetune): the worker
   * trains on `train`, picks the epoch on `validation` and reports before/after on `heldOut`.
   */
  split: FinetuneParts<S>;
  /** The log the parts point into, when they are references (an import kept packed on the page). */
  log?: PackedLog;
  /** Where the data came from (file name or bundled data set), recorded in the model. */
  dataName: string;
  /** Name of the adapted model. */
  name: string;
  settings: FinetuneSettings;
}

/** The three parts of a split, as sent to the worker. */
export type FinetuneParts<S extends Splittable = BehaviorSequence> = Pick<FinetuneSplit<S>, 'train' | 'validation' | 'heldOut' | 'selection'>;

/**
 * The worker's start request for a data set: the split is made here, on the page side, so the
 * summary shows exactly the parts the worker gets. Throws when nothing can be held out.
 */
export function buildStartMessage<S extends Splittable = BehaviorSequence>(options: {
  runId: number;
  base: ModelFilesMessage;
  /** The sequences, or references into `log`. */
  data: { name: string; sequences: readonly S[]; log?: PackedLog };
  name: string;
  settings: FinetuneSettings;
}): StartMessage<S> {
  const { runId, base, data, name, settings } = options;
  const { train, validation, heldOut, selection, note } = splitForFinetune(data.sequences, settings);
  if (heldOut.length === 0) throw new Error(`cannot fine-tune on ${data.name}: ${note ?? 'nothing to hold out'}`);
  const message: StartMessage<S> = { type: 'start', runId, base, split: { train, validation, heldOut, selection }, dataName: data.name, name, settings };
  return data.log ? { ...message, log: data.log } : message;
}

/** A start message with its parts as sequences: references into its packed log are unpacked (in the worker). */
export function unpackStart(message: StartMessage<BehaviorSequence> | StartMessage<SequenceRef>): StartMessage {
  const { log } = message;
  if (!log) return message as StartMessage;
  const { train, validation, heldOut, selection } = message.split as FinetuneParts<SequenceRef>;
  const split = { train: unpackSequences(log, train), validation: unpackSequences(log, validation), heldOut: unpackSequences(log, heldOut), selection };
  return { ...message, split, log: undefined };
}

export interface CancelMessage {
  type: 'cancel';
  runId: number;
}

export type ToWorker = StartMessage | StartMessage<SequenceRef> | CancelMessage;

/** One point of the live progress (a training step, or the end of an epoch with its validation figures). */
export type ProgressPoint = Omit<TrainProgress, 'valid' | 'improved'> & { validation?: MetricSet & { loss: number }; improved?: boolean };

export interface PreparedInfo {
  trainSequences: number;
  validationSequences: number;
  heldOutSequences: number;
  heldOutTargets: number;
  /** How the kept epoch is chosen. */
  selection: FinetuneParts['selection'];
  newBehaviors: string[];
  /**
   * Whether the output biases start matched to the data's behavior frequencies: with a
   * validation part, only if that lowers its loss (both losses given); without one, always.
   */
  frequencies: { matched: boolean; validationLoss?: { unmatched: number; matched: number } };
  parameters: number;
  trainableParameters: number;
}

export interface FinetuneOutcome {
  files: ModelFilesMessage;
  before: MetricSet;
  after: MetricSet;
  epochsRun: number;
  bestEpoch: number;
  steps: number;
  seconds: number;
}

export type FromWorker =
  | { type: 'stage'; runId: number; message: string }
  | { type: 'backend'; runId: number; backend: BackendChoice }
  | { type: 'prepared'; runId: number; info: PreparedInfo }
  | { type: 'evaluated'; runId: number; which: 'before' | 'after'; metrics: MetricSet }
  | { type: 'progress'; runId: number; progress: ProgressPoint }
  | { type: 'done'; runId: number; outcome: FinetuneOutcome }
  | { type: 'cancelled'; runId: number }
  | { type: 'error'; runId: number; message: string };

/** Parameter names trained with `parts` ('head+embeddings': input embeddings, target context and head). */
export function isTrainable(parts: TrainableParts, name: string): boolean {
  return parts === 'all' || name.startsWith('embed.') || name.startsWith('target.') || name.startsWith('head.');
}
