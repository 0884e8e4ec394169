/**
 * Fine-tune: the imported data and its summary, the run settings and the run's live state, over
 * the library's public API (importLog and finetune, as a host page would use them): the log is
 * parsed and the model trained in the library's workers; the page only draws. A run starts from
 * the model in use (the shipped one, one opened from files, or one adapted before), and the
 * summary says what that model knows of the data. An import that fails leaves the previous data
 * in place; a run that fails or is cancelled leaves every model as it was (only a finished run
 * saves a new model, and one that cannot be saved is offered as a download; a run cancelled
 * during its from-scratch comparison keeps the adapted model it already has). A run whose budget
 * ended before early stopping can continue from the weights it kept (finetune's continueFrom).
 * Cancel, worker errors and the worker's death are finetune()'s: it rejects within 300 ms.
 */
import { create } from 'zustand';
import type { EpochUnit } from '../../core/data';
import { whenAborted } from '../../core/abort';
import { compareWithModel, modelFileStem } from '../../core/finetune';
import { packedBehaviorCounts } from '../../core/packed-log';
import type { MetricSet } from '../../core/metrics';
import {
  DEFAULT_FINETUNE_SETTINGS,
  finetune,
  importLog,
  newModelId,
  type BackendChoice,
  type BaselineFigures,
  type BehaviorModel,
  type ContinueRun,
  type FinetuneEvent,
  type FinetuneOutcome,
  type FinetuneSettings,
  type ImportedLog,
  type ModelFiles,
  type PreparedInfo,
  type ProgressPoint,
  type ScratchOutcome,
} from '../../lib/index';
import { dataFileUrl } from '../../env';
import { BUNDLED_DATASETS, download, exportFiles, type BundledDataset } from '../lib/finetune-data';
import { useAdaptedStore } from './adapted-store';
import { useModelStore } from './model-store';
import { errorMessage } from '../../core/errors';

/**
 * An imported log (library `importLog`): packed (typed arrays, parsed in a worker), so the page
 * holds no event objects; `sequences` are references (id, split, length) for the split.
 */
export interface ImportedData extends ImportedLog {
  /** The model the summary compares the data with (the model in use when it was made): its name and key. */
  baseName: string;
  baseKey: string;
}

/** What a run keeps to continue from where it stopped: the adapted model and what finetune() continues from (settings included). */
export interface Resume {
  files: ModelFiles;
  continueFrom: ContinueRun;
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
  /** The model the run started from, and the settings it runs with. */
  baseName: string;
  settings: FinetuneSettings | null;
  progress: ProgressPoint | null;
  /** Training loss of every step, per arm, for the curve. */
  losses: { adapted: number[]; scratch: number[] };
  /** End-of-epoch points with validation figures, both arms (ProgressPoint.arm). */
  epochs: ProgressPoint[];
  before: MetricSet | null;
  after: MetricSet | null;
  baselines: BaselineFigures | null;
  /** The adapted arm's outcome without its files. */
  adapted: Omit<FinetuneOutcome, 'files'> | null;
  scratch: ScratchOutcome | null;
  error: string | null;
  /** Id of the model the finished run saved. */
  savedId: string | null;
  /** A finished run's model that could not be stored on this device (e.g. storage full): offered as a download. */
  unsaved: ModelFiles | null;
  resume: Resume | null;
  /** How many times this run was continued. */
  continued: number;
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
  /** Trains the kept model for another budget, from where the last run stopped. */
  continueRun: () => void;
  cancel: () => void;
  /** Downloads the finished run's model that could not be stored on this device. */
  downloadUnsaved: () => void;
}

const IDLE_RUN: RunState = {
  status: 'idle',
  stage: '',
  backend: null,
  info: null,
  baseName: '',
  settings: null,
  progress: null,
  losses: { adapted: [], scratch: [] },
  epochs: [],
  before: null,
  after: null,
  baselines: null,
  adapted: null,
  scratch: null,
  error: null,
  savedId: null,
  unsaved: null,
  resume: null,
  continued: 0,
};

const CANCELLED_STAGE = 'cancelled: no model was changed';
const CANCELLED_SCRATCH_STAGE = 'cancelled: the adapted model was kept, the from-scratch comparison was not finished';

/** Key of the model in use (its URL, or idb:<id>). */
function activeKey(): string {
  return useModelStore.getState().url;
}

/** The model in use once it is ready (a load in progress is waited for); rejects when there is none. */
function modelInUse(): Promise<BehaviorModel> {
  return new Promise((resolve, reject) => {
    /** Settles the promise if the model store can say; whether it did. */
    const settle = () => {
      const { status, predictor, error } = useModelStore.getState();
      if (status === 'ready' && predictor) resolve(predictor);
      else if (status === 'error' || status === 'idle')
        reject(
          new Error(
            `no model is in use${error ? ` (${error})` : ''}: fine-tuning compares the data with the model in use and trains from it; open one in Predict first`,
          ),
        );
      else return false;
      return true;
    };
    if (settle()) return;
    const stop = useModelStore.subscribe(() => {
      if (settle()) stop();
    });
  });
}

/** Resolves in a later task, so the page can paint and answer input in between. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export const useFinetuneStore = create<FinetuneState>()((set, get) => {
  let importId = 0;
  let lastImport: { name: string; source: File | string } | null = null;
  let importing: AbortController | null = null;

  /** Imports in a worker; the newest import wins (an older one is stopped). A failed one leaves the previous data in place. */
  const accept = async (name: string, source: File | string) => {
    const id = ++importId;
    lastImport = { name, source };
    importing?.abort(new DOMException('superseded by a newer import', 'AbortError'));
    const controller = new AbortController();
    importing = controller;
    set({ importing: true, importProgress: null, importError: null });
    try {
      const base = await modelInUse();
      const baseKey = activeKey();
      const imported = await importLog(source, {
        known: base.info.behaviors,
        epochUnit: get().epochUnit,
        signal: controller.signal,
        onProgress: (loaded, total) => {
          if (id === importId) set({ importProgress: { loaded, total } });
        },
      });
      // Listing a large log's sequences (in importLog) and drawing its summary are each one task.
      await nextTask();
      if (id !== importId) return;
      set({
        importing: false,
        importProgress: null,
        data: { ...imported, name, baseName: base.info.name, baseKey },
      });
      followModel(); // the model may have changed while the log was read
    } catch (e) {
      if (id !== importId) return;
      // The previous data (and every model) stay as they were.
      set({ importing: false, importProgress: null, importError: errorMessage(e) });
    }
  };

  /** Another model in use (once it is ready): the summary says what that one knows. */
  const followModel = () => {
    const state = useModelStore.getState();
    const data = get().data;
    if (!data || state.status !== 'ready' || !state.predictor || state.url === data.baseKey) return;
    const base = state.predictor.info;
    const summary = {
      ...data.summary,
      ...compareWithModel(packedBehaviorCounts(data.log), new Set(base.behaviors)),
    };
    set({ data: { ...data, summary, baseName: base.name, baseKey: state.url } });
  };
  useModelStore.subscribe(followModel);

  const patchRun = (patch: Partial<RunState>) => set((s) => ({ run: { ...s.run, ...patch } }));

  /** The run in progress: its cancel, and the adapted model being saved (kept while the from-scratch arm trains). */
  let active: { controller: AbortController; saving: Promise<boolean> | null } | null = null;
  /** Numbers the runs: a save that ends after a newer run started does not write into that run. */
  let runSerial = 0;

  /** Saves the adapted model; a failure is offered as a download. Resolves whether it was kept. */
  const save = (serial: number, files: ModelFiles, before: MetricSet, after: MetricSet): Promise<boolean> => {
    const id = newModelId();
    const patchOwnRun = (patch: Partial<RunState>) => serial === runSerial && patchRun(patch);
    const name = JSON.parse(files.manifestText).name as string;
    return useAdaptedStore
      .getState()
      .save({
        id,
        name,
        createdAt: Date.now(),
        dataName: get().data?.name ?? '',
        manifestText: files.manifestText,
        shards: files.shards,
        metrics: { before, after },
        origin: 'adapted',
      })
      .then(
        () => {
          patchOwnRun({ savedId: id });
          return true;
        },
        (e: unknown) => {
          patchOwnRun({
            error: `the adapted model could not be saved on this device (${errorMessage(e)}); download it to keep it`,
            unsaved: files,
          });
          return false;
        },
      );
  };

  /** A message of the run in progress, as the library's finetune() reports it. */
  const onEvent = (run: NonNullable<typeof active>, serial: number, m: FinetuneEvent) => {
    if (active !== run) return;
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
        if (m.which === 'before') patchRun({ before: m.metrics });
        else if (m.which === 'after') patchRun({ after: m.metrics });
        return;
      case 'baselines':
        patchRun({ baselines: m.baselines });
        return;
      case 'progress': {
        const p = m.progress;
        set((s) => ({
          run: {
            ...s.run,
            status: s.run.status === 'cancelling' ? 'cancelling' : 'running',
            progress: p,
            losses: p.kind === 'step' ? { ...s.run.losses, [p.arm]: [...s.run.losses[p.arm], p.loss] } : s.run.losses,
            epochs: p.kind === 'epoch' ? [...s.run.epochs, p] : s.run.epochs,
          },
        }));
        return;
      }
      case 'adapted': {
        // The adapted model is saved at once: a from-scratch comparison may follow, and cancelling it keeps this model.
        const { files, ...outcome } = m.outcome;
        const { run: state, settings } = get();
        patchRun({
          adapted: outcome,
          after: outcome.after,
          stage:
            (state.settings ?? settings).compareScratch && !state.continued ? state.stage : 'saving on this device',
        });
        run.saving = save(serial, files, outcome.before, outcome.after);
        return;
      }
      case 'scratch':
        patchRun({ scratch: m.outcome });
        return;
    }
  };

  /** Runs library finetune() from `base` and keeps the run's state (a continued run: from the files it kept). */
  const launch = async (base: () => Promise<ModelFiles>, settings: FinetuneSettings, continueFrom?: ContinueRun) => {
    const data = get().data;
    if (!data) return;
    const run = { controller: new AbortController(), saving: null as Promise<boolean> | null };
    const serial = ++runSerial;
    active = run;
    const { signal } = run.controller;
    try {
      // Cancel is answered at once while the model to start from is still being read (or loaded).
      const { aborted, off } = whenAborted(signal);
      const files = await Promise.race([base(), aborted]).finally(off);
      // The split is made in finetune() the way the summary shows it: the worker trains on train,
      // picks the epoch on validation and reports on held-out only.
      const result = await finetune(files, data, {
        ...settings,
        backend: useModelStore.getState().requestedBackend,
        dataName: data.name,
        continueFrom,
        onProgress: (m) => onEvent(run, serial, m),
        signal,
      });
      if (active !== run) return;
      const { files: adapted, ...outcome } = result;
      patchRun({
        adapted: outcome,
        status: 'saving',
        stage: 'saving on this device',
        resume: result.continueFrom
          ? {
              files: { manifestText: adapted.manifestText, shards: adapted.shards.map((b) => b.slice(0)) },
              continueFrom: result.continueFrom,
            }
          : null,
      });
      const kept = run.saving ? await run.saving : false;
      if (active !== run) return;
      active = null;
      patchRun(kept ? { status: 'done', stage: 'saved on this device' } : { status: 'error' });
    } catch (e) {
      if (active !== run) return;
      active = null;
      // Cancelled during the from-scratch comparison: the adapted model is kept (its save goes on).
      if (signal.aborted)
        patchRun({ status: 'cancelled', stage: get().run.adapted ? CANCELLED_SCRATCH_STAGE : CANCELLED_STAGE });
      else patchRun({ status: 'error', error: errorMessage(e) });
    }
  };

  return {
    data: null,
    importing: false,
    importProgress: null,
    importError: null,
    epochUnit: 'seconds',
    settings: DEFAULT_FINETUNE_SETTINGS,
    run: IDLE_RUN,

    importFile: (file) => accept(file.name, file),
    importBundled: (id) => {
      const name = BUNDLED_DATASETS.find((d) => d.id === id)?.label ?? id;
      return accept(name, dataFileUrl(`${id}.csv.gz`));
    },
    setEpochUnit: (unit) => {
      if (unit === get().epochUnit) return;
      set({ epochUnit: unit });
      const { data, importError } = get();
      if (lastImport && (importError !== null || data?.summary.format === 'timestamped'))
        void accept(lastImport.name, lastImport.source);
    },
    setSettings: (patch) => set((s) => ({ settings: { ...s.settings, ...patch } })),

    start: async () => {
      const { data, settings, run } = get();
      if (!data || isBusy(run.status)) return;
      // The summary was made against the model in use (and follows it), so it names the start.
      set({
        run: {
          ...IDLE_RUN,
          status: 'starting',
          stage: 'reading the model to start from',
          settings,
          baseName: data.baseName,
        },
      });
      await launch(() => modelInUse().then((model) => model.files()), settings);
    },

    continueRun: () => {
      const { data, run } = get();
      const resume = run.resume;
      if (!data || isBusy(run.status) || !resume) return;
      set({
        run: {
          ...run,
          status: 'starting',
          stage: `continuing from epoch ${resume.continueFrom.epochs}`,
          error: null,
          after: null,
          adapted: null,
          savedId: null,
          unsaved: null,
          resume: null,
          continued: run.continued + 1,
        },
      });
      // finetune() copies the kept files, which stay usable if this start fails.
      void launch(async () => resume.files, resume.continueFrom.settings, resume.continueFrom);
    },

    cancel: () => {
      const { run } = get();
      if (run.status !== 'starting' && run.status !== 'running') return;
      patchRun({ status: 'cancelling', stage: 'cancelling…' });
      // finetune() stops the worker after its current step, or ends it after a short grace, and rejects.
      active?.controller.abort(new DOMException('cancelled', 'AbortError'));
    },

    downloadUnsaved: () => {
      const files = get().run.unsaved;
      if (files)
        download(
          exportFiles(
            modelFileStem({ dataName: get().data?.name ?? 'model', createdAt: Date.now(), id: newModelId() }),
            files.manifestText,
            files.shards,
          ),
        );
    },
  };
});
