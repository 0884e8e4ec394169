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
import type { ParsedLog } from '../../core/data';
import type { BehaviorSequence } from '../../core/events';
import { summarizeImport, type ImportSummary } from '../../core/finetune';
import type { MetricSet } from '../../core/metrics';
import { Vocabulary } from '../../core/vocab';
import type { BackendChoice } from '../../model/pipeline-types';
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
import { readLogFile } from '../../browser/behavior-logs';
import { isLifeMessage, lifeLockName, watchLife } from '../../browser/worker-life';
import { env } from '../../env';
import { BUNDLED_DATASETS, download, exportFiles, fetchBundled, type BundledDataset } from '../lib/finetune-data';
import { newModelId } from '../lib/model-store-idb';
import { useAdaptedStore } from './adapted-store';
import { useModelStore } from './model-store';

export interface ImportedData {
  name: string;
  sequences: BehaviorSequence[];
  summary: ImportSummary;
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
  importError: string | null;
  settings: FinetuneSettings;
  run: RunState;
  importFile: (file: File) => Promise<void>;
  importBundled: (id: BundledDataset) => Promise<void>;
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

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export const useFinetuneStore = create<FinetuneState>()((set, get) => {
  const accept = async (name: string, read: () => Promise<ParsedLog>) => {
    set({ importing: true, importError: null });
    try {
      const [log, known] = await Promise.all([read(), baseVocabulary()]);
      set({ importing: false, data: { name, sequences: log.sequences, summary: summarizeImport(log, known) } });
    } catch (e) {
      // The previous data (and every model) stay as they were.
      set({ importing: false, importError: message(e) });
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
    importError: null,
    settings: DEFAULT_FINETUNE_SETTINGS,
    run: IDLE_RUN,

    importFile: (file) => accept(file.name, () => readLogFile(file)),
    importBundled: (id) => accept(BUNDLED_DATASETS.find((d) => d.id === id)?.label ?? id, () => fetchBundled(id)),
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
          data,
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
