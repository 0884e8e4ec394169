/**
 * The fine-tuning protocol's settings and the typed messages between the Fine-tune tab and its
 * training worker (the CLI posts the same messages to a log). Plain data only (structured
 * clone); shards travel as transferable ArrayBuffers.
 */
import type { TrainOptions, TrainProgress } from './trainer';
import type { BehaviorSequence } from '../core/events';
import { splitForFinetune, type FinetuneSplit, type Splittable } from '../core/finetune';
import { unpackSequences, type PackedLog, type SequenceRef } from '../core/packed-log';
import type { MetricSet } from '../core/metrics';
import type { BackendChoice, BackendName } from '../model/pipeline-types';

/** Which parameters fine-tuning updates. */
export type TrainableParts = 'all' | 'head+embeddings';
export type FinetuneObjective = 'dro' | 'ce';

/** How long an arm trains: a budget and early stopping on the validation part. */
export interface TrainingBudget {
  /** Peak learning rate: reached after a short warm-up, then constant until early stopping ends the run. */
  learningRate: number;
  /** The budget: at most this many epochs (raised on small logs to at least FINETUNE_SCHEDULE.minSteps steps; patience can stop sooner). */
  maxEpochs: number;
  /** Early stopping: validation checks in a row without a lower validation loss before the run stops. */
  patience: number;
}

export interface FinetuneSettings extends TrainingBudget {
  objective: FinetuneObjective;
  trainable: TrainableParts;
  /** Share of the imported sequences held out for the comparison only (ignored when the file has its own split). */
  heldOutFraction: number;
  /** Share of the imported sequences that picks the epoch (0: the last epoch is kept; ignored when the file has its own split). */
  validationFraction: number;
  batchSize: number;
  seed: number;
  backend: BackendName | 'auto';
  /** Also train the same architecture from scratch on the training part, for the comparison. */
  compareScratch: boolean;
  /** The from-scratch arm's own learning rate, budget and schedule, chosen on valid the same way as the adapted arm's. */
  scratch: TrainingBudget & { schedule: FinetuneSchedule };
  /** Fixed parts of the schedule (FINETUNE_SCHEDULE; not shown in the app). */
  schedule: FinetuneSchedule;
}

export interface FinetuneSchedule {
  warmupSteps: number;
  /** Steps since the last validation check before an epoch's end checks again (the budget's last epoch always checks). */
  evaluateEvery: number;
  /** At least this many steps: small logs get more epochs than the budget says. */
  minSteps: number;
}

/**
 * The adapted arm's schedule: a warm-up of 50 steps (independent of the budget, so the steps a
 * run takes do not depend on how long it may run; not tuned: the adaptation experiments' k-shot
 * runs' order of magnitude); a validation check at the end of an epoch once 20 steps have passed
 * since the last one (tiny logs have epochs of 2 or 3 steps, whose checks would be noise); at
 * least 600 steps on small logs. The check spacing and minimum steps were chosen with the
 * learning rate, budget and patience on the stand-ins' valid parts (results/own-data/defaults.json).
 */
export const FINETUNE_SCHEDULE: Readonly<FinetuneSchedule> = { warmupSteps: 50, evaluateEvery: 20, minSteps: 600 };

/**
 * The defaults. Learning rates, budgets and patience were chosen on the **valid** splits of
 * stand-in logs of 1k to 100k events whose behavior names the model does not know
 * (`npm run own-data -- --phase tune`; the grid and the choice are in docs/FINETUNE.md).
 */
export const DEFAULT_FINETUNE_SETTINGS: FinetuneSettings = {
  learningRate: 3e-4,
  maxEpochs: 30,
  patience: 3,
  objective: 'dro',
  trainable: 'all',
  heldOutFraction: 0.2,
  validationFraction: 0.1,
  batchSize: 32,
  seed: 0,
  backend: 'auto',
  compareScratch: false,
  // Chosen the same way for the from-scratch arm: checks after every epoch, at least 300 steps.
  scratch: {
    learningRate: 3e-3,
    maxEpochs: 20,
    patience: 5,
    schedule: { ...FINETUNE_SCHEDULE, evaluateEvery: 0, minSteps: 300 },
  },
  schedule: FINETUNE_SCHEDULE,
};

/** The trainer options of one arm under the protocol (the objective, seed and callbacks are the caller's). */
export function protocolTrainOptions(
  budget: TrainingBudget,
  batchSize: number,
  schedule: FinetuneSchedule = FINETUNE_SCHEDULE,
): Pick<
  TrainOptions,
  | 'epochs'
  | 'batchSize'
  | 'learningRate'
  | 'warmupSteps'
  | 'schedule'
  | 'minSteps'
  | 'evaluateEvery'
  | 'patience'
  | 'selectBy'
> {
  return {
    epochs: budget.maxEpochs,
    batchSize,
    learningRate: budget.learningRate,
    warmupSteps: schedule.warmupSteps,
    schedule: 'constant',
    minSteps: schedule.minSteps,
    evaluateEvery: schedule.evaluateEvery,
    patience: budget.patience,
    selectBy: 'loss',
  };
}

/** Model files in memory: model.json text and its shards in manifest path order. */
export interface ModelFilesMessage {
  manifestText: string;
  shards: ArrayBuffer[];
}

/** The scores a continued run carries over from the run it continues (they do not change). */
export interface ContinueFrom {
  /** Epochs and steps already trained: numbering goes on from them. */
  epochs: number;
  steps: number;
  seconds: number;
  /** The base model the first run started from, and its held-out figures. */
  baseName: string;
  before: MetricSet;
  baselines: BaselineFigures;
  newBehaviors: string[];
  frequencies: PreparedInfo['frequencies'];
}

export interface StartMessage<S extends Splittable = BehaviorSequence> {
  type: 'start';
  runId: number;
  /** The model to adapt (when continuing: the adapted model as the previous run kept it). */
  base: ModelFilesMessage;
  /**
   * The imported sequences, already split by whole sequence (splitForFinetune): the worker
   * trains on `train`, picks the epoch on `validation` and reports the comparison on `heldOut`.
   */
  split: FinetuneParts<S>;
  /** The log the parts point into, when they are references (an import kept packed on the page). */
  log?: PackedLog;
  /** Where the data came from (file name or bundled data set), recorded in the model. */
  dataName: string;
  settings: FinetuneSettings;
  /** Set when this run continues a finished one from the weights it kept. */
  continueFrom?: ContinueFrom;
}

/** The parts of a split, as sent to the worker. */
export type FinetuneParts<S extends Splittable = BehaviorSequence> = Pick<
  FinetuneSplit<S>,
  'train' | 'validation' | 'heldOut' | 'selection' | 'source'
>;

/**
 * The worker's start request for a data set: the split is made here, on the page side, so the
 * summary shows exactly the parts the worker gets. Throws when nothing can be held out.
 */
export function buildStartMessage<S extends Splittable = BehaviorSequence>(options: {
  runId: number;
  base: ModelFilesMessage;
  /** The sequences, or references into `log`. */
  data: { name: string; sequences: readonly S[]; log?: PackedLog };
  settings: FinetuneSettings;
  continueFrom?: ContinueFrom;
}): StartMessage<S> {
  const { runId, base, data, settings, continueFrom } = options;
  const { train, validation, heldOut, selection, source, note } = splitForFinetune(data.sequences, settings);
  if (heldOut.length === 0) throw new Error(`cannot fine-tune on ${data.name}: ${note ?? 'nothing to hold out'}`);
  const message: StartMessage<S> = {
    type: 'start',
    runId,
    base,
    split: { train, validation, heldOut, selection, source },
    dataName: data.name,
    settings,
    ...(continueFrom ? { continueFrom } : {}),
  };
  return data.log ? { ...message, log: data.log } : message;
}

/** A start message with its parts as sequences: references into its packed log are unpacked (in the worker). */
export function unpackStart(message: StartMessage<BehaviorSequence> | StartMessage<SequenceRef>): StartMessage {
  const { log } = message;
  if (!log) return message as StartMessage;
  const { train, validation, heldOut, selection, source } = message.split as FinetuneParts<SequenceRef>;
  const split = {
    train: unpackSequences(log, train),
    validation: unpackSequences(log, validation),
    heldOut: unpackSequences(log, heldOut),
    selection,
    source,
  };
  return { ...message, split, log: undefined };
}

export interface CancelMessage {
  type: 'cancel';
  runId: number;
}

export type ToWorker = StartMessage | StartMessage<SequenceRef> | CancelMessage;

/** Which model a progress point or score belongs to. */
export type Arm = 'adapted' | 'scratch';

/** One point of the live progress (a training step, or the end of an epoch with its validation figures). */
export type ProgressPoint = Omit<TrainProgress, 'valid' | 'improved'> & {
  arm: Arm;
  validation?: MetricSet & { loss: number };
  improved?: boolean;
};

export interface PreparedInfo {
  trainSequences: number;
  validationSequences: number;
  heldOutSequences: number;
  heldOutTargets: number;
  /** How the kept epoch is chosen. */
  selection: FinetuneParts['selection'];
  /** Whether the parts are the file's own split column or the sequence-level split. */
  source: FinetuneParts['source'];
  /** Behaviors of the training part added to the vocabulary. */
  newBehaviors: string[];
  /**
   * Whether the output biases start matched to the data's behavior frequencies: with a
   * validation part, only if that lowers its loss (both losses given); without one, always.
   */
  frequencies: { matched: boolean; validationLoss?: { unmatched: number; matched: number } };
  parameters: number;
  trainableParameters: number;
  /** The budget in epochs once small logs are raised to the minimum number of steps. */
  budgetEpochs: number;
  stepsPerEpoch: number;
}

/** Non-neural references fitted on the training part, scored on the held-out part. */
export interface BaselineFigures {
  'markov-2': MetricSet;
  popularity: MetricSet;
}

/** Why an arm stopped training. */
export interface StopInfo {
  /** 'patience': validation loss stopped improving; 'budget': the epochs ran out first; 'no-validation': every epoch ran, the last is kept. */
  reason: 'patience' | 'budget' | 'no-validation';
  /** The budget ran out while the last validation check was still the best so far. */
  stillImproving: boolean;
}

export interface ArmSummary {
  epochsRun: number;
  bestEpoch: number;
  steps: number;
  seconds: number;
  stop: StopInfo;
  learningRate: number;
}

export interface FinetuneOutcome extends ArmSummary {
  files: ModelFilesMessage;
  before: MetricSet;
  after: MetricSet;
  baselines: BaselineFigures;
  /** Seconds from the start of the run to the adapted model scored (the time a person waits for it). */
  wallSeconds: number;
}

export interface ScratchOutcome extends ArmSummary {
  metrics: MetricSet;
}

export type FromWorker =
  | { type: 'stage'; runId: number; message: string }
  | { type: 'backend'; runId: number; backend: BackendChoice }
  | { type: 'prepared'; runId: number; info: PreparedInfo }
  | { type: 'evaluated'; runId: number; which: 'before' | 'after' | 'scratch'; metrics: MetricSet }
  | { type: 'baselines'; runId: number; baselines: BaselineFigures }
  | { type: 'progress'; runId: number; progress: ProgressPoint }
  /** The adapted model is ready (and kept even if the from-scratch arm that may follow is cancelled). */
  | { type: 'adapted'; runId: number; outcome: FinetuneOutcome }
  | { type: 'scratch'; runId: number; outcome: ScratchOutcome }
  | { type: 'done'; runId: number }
  | { type: 'cancelled'; runId: number }
  | { type: 'error'; runId: number; message: string };

/** Parameter names trained with `parts` ('head+embeddings': input embeddings, target context and head). */
export function isTrainable(parts: TrainableParts, name: string): boolean {
  return parts === 'all' || name.startsWith('embed.') || name.startsWith('target.') || name.startsWith('head.');
}
