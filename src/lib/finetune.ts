/**
 * On-device fine-tuning as the library offers it (and the app uses it):
 *
 *   const log = await importLog(file, { known: model.info.behaviors });   // parsed in a worker
 *   const result = await finetune(model, log, { epochs: 3, onProgress, signal });
 *   const adapted = await loadModel(result.files);
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
  type FinetuneOutcome,
  type FinetuneSettings,
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
  /** Cancels the run: it rejects with the signal's reason within 300 ms, and no model comes of it. */
  signal?: AbortSignal;
}

/** A finished run: the adapted model's files (load, save or export them) and its figures. */
export interface FinetuneResult extends FinetuneOutcome {
  /** The adapted model's name (as in its manifest). */
  name: string;
  dataName: string;
}

function isImported(data: FinetuneData): data is ImportedLog {
  return typeof data === 'object' && data !== null && 'log' in data && 'sequences' in data && !Array.isArray(data);
}

/** The settings of a run: the defaults, overridden by the options' setting fields. */
function settingsFrom(options: FinetuneOptions): FinetuneSettings {
  const settings = { ...DEFAULT_FINETUNE_SETTINGS };
  for (const key of Object.keys(settings) as (keyof FinetuneSettings)[]) {
    if (options[key] !== undefined) (settings as Record<string, unknown>)[key] = options[key];
  }
  return settings;
}

/**
 * Adapts `model` to `data` in the library's training worker: the data is split by whole
 * sequence into train, validation (picks the epoch) and held-out parts (the before/after
 * figures); new behaviors are added to the vocabulary; training uses DRO by default. Resolves
 * with the adapted model's files and figures; rejects with the error that stopped it, or the
 * signal's reason when cancelled. The model itself is not changed.
 */
export async function finetune(
  model: BehaviorModel,
  data: FinetuneData,
  options: FinetuneOptions = {},
): Promise<FinetuneResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const settings = settingsFrom(options);
  const imported = data instanceof Blob ? await importLog(data, { known: model.info.behaviors, signal }) : data;
  const dataName = options.dataName ?? (isImported(imported) ? imported.name : 'sequences');
  const base: ModelFiles = await model.files();
  signal?.throwIfAborted();
  const { runId: _runId, ...start } = isImported(imported)
    ? buildStartMessage({
        runId: 0,
        base,
        data: { name: dataName, sequences: imported.sequences, log: imported.log },
        settings,
      })
    : buildStartMessage({ runId: 0, base, data: { name: dataName, sequences: imported }, settings });
  const outcome = await runFinetuneInWorker(start, { onEvent: options.onProgress, signal });
  // The worker names the model for its base and data; options.name replaces that in the manifest (shard hashes are unaffected).
  const manifest = JSON.parse(outcome.files.manifestText) as { name: string };
  if (options.name !== undefined) manifest.name = options.name;
  const files =
    options.name === undefined ? outcome.files : { ...outcome.files, manifestText: JSON.stringify(manifest) };
  return { ...outcome, files, name: manifest.name, dataName };
}

export type { FinetuneEvent };
