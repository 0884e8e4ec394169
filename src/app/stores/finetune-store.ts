/**
 * Fine-tune: the imported data and its summary, the run settings, the run's live state, and the
 * worker that trains. The page only parses, posts and draws; training is the worker's. An
 * import that fails leaves the previous data in place; a run that fails or is cancelled leaves
 * every model as it was (only a finished run saves a new model, and one that cannot be saved is
 * offered as a download). Cancel is answered within CANCEL_GRACE_MS: the worker stops after its
 * current step, or is ended. A worker error or the worker's death (worker-life.ts) fails the run
 * at once.
 */
import { create } from 'zustand';
import type { EpochUnit } from '../../core/data';
import type { ImportSummary } from '../../core/finetune';
import { sequenceRefs, type PackedLog, type SequenceRef } from '../../core/packed-log';
import type { MetricSet } from '../../core/metrics';
import { Vocabulary } from '../../core/vocab';
import type { BackendChoice } from '../../lib/index';
import {
  buildStartMessage,
  DEFAULT_FINETUNE_SETTINGS,
  type FinetuneSettings,
  type FromWorker,
  type ModelFilesMessage,
  type PreparedInfo,
  type ProgressPoint,
  type ToWorker,
} from '../../train/finetune-protocol';
import { importLogInWorker, type ImportSource } from '../../browser/log-import';
import { isLifeMessage, lifeLockName, watchLife } from '../../browser/worker-life';
import { dataFileUrl, env } from '../../env';
import { BUNDLED_DATASETS, download, exportFiles, type BundledDataset } from '../lib/finetune-data';
import { newModelId } from '../../browser/saved-models';
import { useAdaptedStore } from './adapted-store';
import { useModelStore } from './model-store';

/**
 * An imported log. It stays packed (typed arrays, parsed in a worker): the page holds no event
 * objects, and `sequences` are references (id, split, length) for the split.
 */
export interface ImportedData {
  name: string;
  sequences: SequenceRef[];
  log: PackedLog;
  summary: ImportSummary;
  /** What the parser accepted but the person should check (e.g. epoch values that look like the other unit). */
  warnings: string[];
}

export type RunStatus = 'idle' | 'starting' | 'running' | 'cancelling' | 'saving' | 'done' | 'cancelled' | 'error';

/** Statuses of a run in progress: Start is disabled, settings are locked. */
export const BUSY_STATUSES: readonly RunStatus[] = ['starting', 'running', 'cancelling', 'saving'];

export function isBusy(status: RunStatus): boolean {
  return BUSY_STATUSES.includes(status);
}

export interface RunState {
  status: RunStatus;
  stage: string;
  backend: BackendChoice | null;
  info: PreparedInfo | null;
  progress: ProgressPoint | null;
  /** Loss of every step, for the curve. */
  losses: number[];
  /** End-of-epoch points with held-out figures. */
  epochs: ProgressPoint[];
  before: MetricSet | null;
  after: MetricSet | null;
  error: string | null;
  /** Id of the model the finished run saved. */
  savedId: string | null;
  /** A finished run's model that could not be stored on this device (e.g. storage full): offered as a download. */
  unsaved: ModelFilesMessage | null;
}

export interface FinetuneState {
  data: ImportedData | null;
  importing: boolean;
  /** Bytes of the file read so far, while importing. */
  importProgress: { loaded: number; total: number } | null;
  importError: string | null;
  /** Unit of numeric (Unix epoch) timestamps in timestamped logs. */
  epochUnit: EpochUnit;
  settings: FinetuneSettings;
  run: RunState;
  importFile: (file: File) => Promise<void>;
  importBundled: (id: BundledDataset) => Promise<void>;
  /** Sets the epoch unit; a timestamped log (or one refused) is read again with it. */
  setEpochUnit: (unit: EpochUnit) => void;
  setSettings: (patch: Partial<FinetuneSettings>) => void;
  start: () => Promise<void>;
  cancel: () => void;
  /** Downloads the finished run's model that could not be stored on this device. */
  downloadUnsaved: () => void;
}

const IDLE_RUN: RunState = {
  status: 'idle',
  stage: '',
  backend: null,
  info: null,
  progress: null,
  losses: [],
  epochs: [],
  before: null,
  after: null,
  error: null,
  savedId: null,
  unsaved: null,
};

/**
 * A worker that has not stopped this long after Cancel (busy outside a training step: starting a
 * backend, evaluating) is ended, and a new one is started for the next run.
 */
export const CANCEL_GRACE_MS = 300;

const CANCELLED_STAGE = 'cancelled: no model was changed';

/** The training worker, and how to end it without its death being reported. */
let worker: { instance: Worker; end: () => void } | null = null;
let runId = 0;
/** The last run whose start message went to the worker. */
let posted = 0;
let knownBehaviors: Promise<Vocabulary> | null = null;

/** The shipped model's files (Cache API first): what is adapted, and whose vocabulary decides what is new. */
async function baseFiles() {
  const { fetchModelFiles } = await import('../../model/pipeline');
  return fetchModelFiles(env.modelUrl);
}

function baseVocabulary(): Promise<Vocabulary> {
  knownBehaviors ??= baseFiles()
    .then(({ manifestText }) => Vocabulary.fromJSON(JSON.parse(manifestText).vocabulary.behaviors))
    .catch((e: unknown) => {
      knownBehaviors = null;
      throw e;
    });
  return knownBehaviors;
}

/** Resolves in a later task, so the page can paint and answer input in between. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export const useFinetuneStore = create<FinetuneState>()((set, get) => {
  let importId = 0;
  let lastImport: { name: string; source: ImportSource } | null = null;
  let importing: AbortController | null = null;

  /** Imports in a worker; the newest import wins (an older one is stopped). A failed one leaves the previous data in place. */
  const accept = async (name: string, source: ImportSource) => {
    const id = ++importId;
    lastImport = { name, source };
    importing?.abort(new DOMException('superseded by a newer import', 'AbortError'));
    const controller = new AbortController();
    importing = controller;
    set({ importing: true, importProgress: null, importError: null });
    try {
      const known = await baseVocabulary();
      const { log, summary } = await importLogInWorker(source, {
        known: known.tokens,
        epochUnit: get().epochUnit,
        signal: controller.signal,
        onProgress: (loaded, total) => {
          if (id === importId) set({ importProgress: { loaded, total } });
        },
      });
      // Receiving a large log, listing its sequences and drawing the summary are each one task:
      // together they could hold the page past 100 ms.
      await nextTask();
      if (id !== importId) return;
      const sequences = sequenceRefs(log);
      await nextTask();
      if (id !== importId) return;
      set({ importing: false, importProgress: null, data: { name, log, summary, sequences, warnings: log.warnings } });
    } catch (e) {
      if (id !== importId) return;
      // The previous data (and every model) stay as they were.
      set({ importing: false, importProgress: null, importError: message(e) });
    }
  };

  const patchRun = (patch: Partial<RunState>) => set((s) => ({ run: { ...s.run, ...patch } }));

  const onMessage = (m: FromWorker) => {
    if (m.runId !== runId) return; // a message of an earlier (cancelled) run
    switch (m.type) {
      case 'stage':
        patchRun({ stage: m.message });
        return;
      case 'backend':
        patchRun({ backend: m.backend, status: get().run.status === 'starting' ? 'running' : get().run.status });
        return;
      case 'prepared':
        patchRun({ info: m.info });
        return;
      case 'evaluated':
        patchRun(m.which === 'before' ? { before: m.metrics } : { after: m.metrics });
        return;
      case 'progress': {
        const p = m.progress;
        set((s) => ({
          run: {
            ...s.run,
            status: s.run.status === 'cancelling' ? 'cancelling' : 'running',
            progress: p,
            losses: p.kind === 'step' ? [...s.run.losses, p.loss] : s.run.losses,
            epochs: p.kind === 'epoch' ? [...s.run.epochs, p] : s.run.epochs,
          },
        }));
        return;
      }
      case 'cancelled':
        runId++;
        patchRun({ status: 'cancelled', stage: CANCELLED_STAGE });
        return;
      case 'error':
        runId++;
        patchRun({ status: 'error', error: m.message });
        return;
      case 'done': {
        runId++;
        // Finished after Cancel was pressed: Cancel wins, nothing is kept.
        if (get().run.status === 'cancelling') {
          patchRun({ status: 'cancelled', stage: CANCELLED_STAGE });
          return;
        }
        const { outcome } = m;
        const id = newModelId();
        const data = get().data;
        const name = JSON.parse(outcome.files.manifestText).name as string;
        patchRun({ status: 'saving', stage: 'saving on this device', before: outcome.before, after: outcome.after });
        useAdaptedStore
          .getState()
          .save({
            id,
            name,
            createdAt: Date.now(),
            dataName: data?.name ?? '',
            manifestText: outcome.files.manifestText,
            shards: outcome.files.shards,
            metrics: { before: outcome.before, after: outcome.after },
          })
          .then(
            () => patchRun({ status: 'done', stage: 'saved on this device', savedId: id }),
            (e: unknown) =>
              patchRun({
                status: 'error',
                error: `the adapted model could not be saved on this device (${message(e)}); download it to keep it`,
                unsaved: outcome.files,
              }),
          );
        return;
      }
    }
  };

  /** Ends the run in progress (if any) with an error; its later messages are ignored. */
  const failRun = (error: string) => {
    const { status } = get().run;
    if (!isBusy(status) || status === 'saving') return;
    runId++;
    patchRun(status === 'cancelling' ? { status: 'cancelled', stage: CANCELLED_STAGE } : { status: 'error', error });
  };

  const ensureWorker = (): Worker => {
    if (worker) return worker.instance;
    const name = lifeLockName('behavegpt-finetune');
    const w = new Worker(new URL('../../browser/finetune.worker.ts', import.meta.url), { type: 'module', name });
    let stopWatching = () => {};
    const handle = {
      instance: w,
      end: () => {
        stopWatching();
        w.terminate();
        if (worker === handle) worker = null;
      },
    };
    const died = (error: string) => {
      handle.end();
      failRun(error);
    };
    w.onmessage = (event: MessageEvent<unknown>) => {
      if (isLifeMessage(event.data)) {
        stopWatching = watchLife(name, () => died('the training worker stopped unexpectedly (out of memory?); no model was changed'));
        return;
      }
      onMessage(event.data as FromWorker);
    };
    w.onerror = (event) => {
      event.preventDefault();
      died(`the training worker failed: ${event.message || 'unknown error'}`);
    };
    w.onmessageerror = () => died('a message from the training worker could not be read');
    worker = handle;
    return w;
  };

  return {
    data: null,
    importing: false,
    importProgress: null,
    importError: null,
    epochUnit: 'seconds',
    settings: DEFAULT_FINETUNE_SETTINGS,
    run: IDLE_RUN,

    importFile: (file) => accept(file.name, { kind: 'file', file }),
    importBundled: (id) => {
      const name = BUNDLED_DATASETS.find((d) => d.id === id)?.label ?? id;
      return accept(name, { kind: 'url', url: dataFileUrl(`${id}.csv.gz`), name: `${id}.csv.gz` });
    },
    setEpochUnit: (unit) => {
      if (unit === get().epochUnit) return;
      set({ epochUnit: unit });
      const { data, importError } = get();
      if (lastImport && (importError !== null || data?.summary.format === 'timestamped')) void accept(lastImport.name, lastImport.source);
    },
    setSettings: (patch) => set((s) => ({ settings: { ...s.settings, ...patch } })),

    start: async () => {
      const { data, settings, run } = get();
      if (!data || isBusy(run.status)) return;
      const id = ++runId;
      set({ run: { ...IDLE_RUN, status: 'starting', stage: 'reading the base model' } });
      try {
        const base = await baseFiles();
        if (id !== runId) return; // cancelled meanwhile
        const baseName = JSON.parse(base.manifestText).name as string;
        // The split by sequence is made here (the summary shows the same parts): the worker
        // trains on train, picks the epoch on validation and reports on held-out only.
        const message: ToWorker = buildStartMessage({
          runId: id,
          base: { manifestText: base.manifestText, shards: base.shards },
          data: { name: data.name, sequences: data.sequences, log: data.log },
          name: `${baseName} + ${data.name} (${new Date().toLocaleString('en-GB')})`,
          settings: { ...settings, backend: useModelStore.getState().requestedBackend },
        });
        ensureWorker().postMessage(message, base.shards);
        posted = id;
      } catch (e) {
        if (id === runId) failRun(message(e));
      }
    },

    cancel: () => {
      const { run } = get();
      if (run.status !== 'starting' && run.status !== 'running') return;
      const id = runId;
      patchRun({ status: 'cancelling', stage: 'cancelling…' });
      const giveUp = () => {
        if (id !== runId || get().run.status !== 'cancelling') return;
        // Busy outside a training step (backend start, evaluation), or not started yet: end it now.
        worker?.end();
        runId++;
        patchRun({ status: 'cancelled', stage: CANCELLED_STAGE });
      };
      if (posted !== id) {
        // Still reading the base model: the worker has nothing to stop.
        runId++;
        patchRun({ status: 'cancelled', stage: CANCELLED_STAGE });
        return;
      }
      worker?.instance.postMessage({ type: 'cancel', runId: id } satisfies ToWorker);
      setTimeout(giveUp, CANCEL_GRACE_MS);
    },

    downloadUnsaved: () => {
      const files = get().run.unsaved;
      if (files) download(exportFiles(files.manifestText, files.shards));
    },
  };
});
