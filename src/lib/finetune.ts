/**
 * On-device fine-tuning as the library offers it (and the app uses it):
 *
 *   const log = await importLog(file, { known: model.info.behaviors });   // parsed in a worker
 *   const result = await finetune(model, log, { epochs: 3, onProgress, signal });
 *   const adapted = await loadModel(result.files);
 *   // The budget ran out while it was still improving: train on from where it stopped.
 *   if (result.continueFrom) await finetune(result.files, log, { maxEpochs: 3, continueFrom: result.continueFrom });
 *
 * Logs are read in the import worker (streamed, gunzipped when gzip, with progress) and kept
 * packed; training runs in the library's training worker (browser/finetune-run.ts), never on
 * the page. The data is split by whole sequence on this side (buildStartMessage), so a summary
 * can show exactly the parts the worker trains, selects and reports on.
 */
import type { EpochUnit } from '../core/data';
import type { BehaviorSequence } from '../core/events';
import type { ImportSummary } from '../core/finetune';
import { sequenceRefs, type PackedLog, type SequenceRef } from '../core/packed-log';
import type { BehaviorModel, ModelFiles } from '../model/pipeline-types';
import {
  buildStartMessage,
  DEFAULT_FINETUNE_SETTINGS,
  type ContinueFrom,
  type FinetuneOutcome,
  type FinetuneSettings,
  type PreparedInfo,
  type ScratchOutcome,
} from '../train/finetune-protocol';
import { runFinetuneInWorker, type FinetuneEvent } from '../browser/finetune-run';
import { importLogInWorker, type ImportSource } from '../browser/log-import';

/** A behavior log read by `importLog`: packed (typed arrays), with its summary. */
export interface ImportedLog {
  /** The file's name (or the URL's last part). */
  name: string;
  log: PackedLog;
  /** Its sequences by reference (id, split, length): what the split into parts works on. */
  sequences: SequenceRef[];
  summary: ImportSummary;
  /** What the parser accepted but a person should check (e.g. epoch values that look like the other unit). */
  warnings: string[];
}

export interface ImportLogOptions {
  /** Behaviors the model knows (`model.info.behaviors`): the summary counts the others as new. */
  known?: readonly string[];
  /** Unit of numeric (Unix epoch) timestamps in a timestamped log (default seconds). */
  epochUnit?: EpochUnit;
  /** Bytes read so far, of the total when known (0 otherwise). */
  onProgress?: (loaded: number, total: number) => void;
  signal?: AbortSignal;
}

function nameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.split('/').pop() || url);
}

/**
 * Reads a behavior log — a canonical CSV (`sequence_id,step,weekday,time_slot,behavior[,split][,location]`)
 * or a timestamped log (`user_id,timestamp,behavior[,location]`), gzipped or not — from a file
 * (or Blob) or a URL, in a worker. Throws an error naming the file, line and field of the first
 * problem; nothing is half-read.
 */
export async function importLog(
  source: File | Blob | string | URL,
  options: ImportLogOptions = {},
): Promise<ImportedLog> {
  let from: ImportSource;
  if (typeof source === 'string' || source instanceof URL) {
    const url = new URL(String(source), globalThis.location?.href).href;
    from = { kind: 'url', url, name: nameOf(url) };
  } else {
    from = { kind: 'file', file: source instanceof File ? source : new File([source], 'log.csv') };
  }
  const { log, summary } = await importLogInWorker(from, {
    known: options.known ?? [],
    epochUnit: options.epochUnit ?? 'seconds',
    onProgress: options.onProgress,
    signal: options.signal,
  });
  const name = from.kind === 'file' ? from.file.name : from.name;
  // Receiving a large log and listing its sequences are each one task: together they could hold a page past 100 ms.
  await new Promise((resolve) => setTimeout(resolve, 0));
  options.signal?.throwIfAborted();
  return { name, log, sequences: sequenceRefs(log), summary, warnings: log.warnings };
}

/** What `finetune` adapts the model to: a log read by importLog, a log file, or sequences in memory. */
export type FinetuneData = ImportedLog | File | Blob | readonly BehaviorSequence[];

export interface FinetuneOptions extends Partial<FinetuneSettings> {
  /** Name of the adapted model (default: the worker's descriptive name, from the base model and the data). */
  name?: string;
  /** Where the data came from, recorded in the model (default: the file's name, or "sequences"). */
  dataName?: string;
  /** Every step of the run as it happens: stage, backend, prepared (the parts), evaluated, progress (loss, epochs). */
  onProgress?: (event: FinetuneEvent) => void;
  /**
   * Cancels the run: it rejects with the signal's reason within 300 ms, and no model comes of it
   * (an `adapted` progress event that came before the cancel has the adapted model, though).
   */
  signal?: AbortSignal;
  /**
   * Continues a run whose budget ran out (its result's `continueFrom`, with its `files` as the
   * model): epochs, steps and the before/baseline figures go on from it, with the same data. Its
   * settings are the first run's; the budget (`maxEpochs`, `patience`, `learningRate`) may change,
   * the split (`seed`, `heldOutFraction`, `validationFraction`) may not.
   */
  continueFrom?: ContinueRun;
}

/** What a run whose budget ran out carries to the run that continues it: its figures and its settings. */
export interface ContinueRun extends ContinueFrom {
  settings: FinetuneSettings;
}

/** Settings that decide the split: a continued run that changed them would report on other held-out sequences. */
const SPLIT_SETTINGS = ['seed', 'heldOutFraction', 'validationFraction'] as const;

/** A finished run: the adapted model's files (load, save or export them) and its figures. */
export interface FinetuneResult extends FinetuneOutcome {
  /** The adapted model's name (as in its manifest). */
  name: string;
  dataName: string;
  /** The parts of the data and how the run was set up (new behaviors, frequency matching, budget). */
  prepared: PreparedInfo;
  /** The from-scratch comparison (with `compareScratch`; not run when continuing). */
  scratch: ScratchOutcome | null;
  /** Set when the budget ran out before early stopping: pass it with `files` to train further. */
  continueFrom: ContinueRun | null;
}

/** What `finetune` adapts: a loaded model, or model files (e.g. a previous result's, to continue it). */
export type FinetuneBase = BehaviorModel | ModelFiles;

function isImported(data: FinetuneData): data is ImportedLog {
  return typeof data === 'object' && data !== null && 'log' in data && 'sequences' in data && !Array.isArray(data);
}

function isModelFiles(base: FinetuneBase): base is ModelFiles {
  return 'manifestText' in base;
}

/**
 * The settings of a run: the defaults (a continued run: its first run's), overridden by the
 * options' setting fields. Throws when a continued run would change its split.
 */
function settingsFrom(options: FinetuneOptions): FinetuneSettings {
  const first = options.continueFrom?.settings;
  const settings = { ...(first ?? DEFAULT_FINETUNE_SETTINGS) };
  for (const key of Object.keys(settings) as (keyof FinetuneSettings)[]) {
    if (options[key] !== undefined) (settings as Record<string, unknown>)[key] = options[key];
  }
  const changed = first ? SPLIT_SETTINGS.filter((key) => settings[key] !== first[key]) : [];
  if (changed.length > 0)
    throw new Error(
      `a continued run keeps its first run's split: ${changed.map((k) => `${k} ${first![k]}, not ${settings[k]}`).join('; ')}`,
    );
  return settings;
}

/**
 * Adapts `base` (a loaded model or model files) to `data` in the library's training worker: the
 * data is split by whole sequence into train, validation (picks the epoch) and held-out parts
 * (the before/after figures); new behaviors are added to the vocabulary; training uses DRO by
 * default. Resolves with the adapted model's files and figures; rejects with the error that
 * stopped it, or the signal's reason when cancelled. The base model itself is not changed.
 */
export async function finetune(
  base: FinetuneBase,
  data: FinetuneData,
  options: FinetuneOptions = {},
): Promise<FinetuneResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const settings = settingsFrom(options);
  const continuing = options.continueFrom;
  const model = isModelFiles(base) ? null : base;
  const imported = data instanceof Blob ? await importLog(data, { known: model?.info.behaviors ?? [], signal }) : data;
  const dataName = options.dataName ?? (isImported(imported) ? imported.name : 'sequences');
  // Copies: the worker takes the shards it is sent.
  const files: ModelFiles = isModelFiles(base)
    ? { manifestText: base.manifestText, shards: base.shards.map((s) => s.slice(0)) }
    : await base.files();
  const baseName = continuing?.baseName ?? (JSON.parse(files.manifestText) as { name: string }).name;
  signal?.throwIfAborted();
  const parts = { runId: 0, base: files, settings, continueFrom: continuing };
  const { runId: _runId, ...start } = isImported(imported)
    ? buildStartMessage({ ...parts, data: { name: dataName, sequences: imported.sequences, log: imported.log } })
    : buildStartMessage({ ...parts, data: { name: dataName, sequences: imported } });
  let prepared: PreparedInfo | null = null;
  let scratch: ScratchOutcome | null = null;
  const outcome = await runFinetuneInWorker(start, {
    onEvent: (event) => {
      if (event.type === 'prepared') prepared = event.info;
      else if (event.type === 'scratch') scratch = event.outcome;
      options.onProgress?.(event);
    },
    signal,
  });
  if (!prepared) throw new Error('the training worker finished without saying how it prepared the run');
  const info: PreparedInfo = prepared;
  // The worker names the model for its base and data; options.name replaces that in the manifest (shard hashes are unaffected).
  const manifest = JSON.parse(outcome.files.manifestText) as { name: string };
  if (options.name !== undefined) manifest.name = options.name;
  const adaptedFiles =
    options.name === undefined ? outcome.files : { ...outcome.files, manifestText: JSON.stringify(manifest) };
  return {
    ...outcome,
    files: adaptedFiles,
    name: manifest.name,
    dataName,
    prepared: info,
    scratch,
    continueFrom:
      outcome.stop.reason === 'budget'
        ? {
            epochs: outcome.epochsRun,
            steps: outcome.steps,
            seconds: outcome.seconds,
            baseName,
            before: outcome.before,
            baselines: outcome.baselines,
            newBehaviors: info.newBehaviors,
            frequencies: info.frequencies,
            settings,
          }
        : null,
  };
}

export type { FinetuneEvent };
