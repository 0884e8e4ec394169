/**
 * Fine-tune: the imported data and its summary, the run settings, the run's live state, and the
 * worker that trains. The page only parses, posts and draws; training is the worker's. A run
 * starts from the model in use (the shipped one, one opened from files, or one adapted before),
 * and the summary says what that model knows of the data. An import that fails leaves the
 * previous data in place; a run that fails or is cancelled leaves every model as it was (only a
 * finished run saves a new model, and one that cannot be saved is offered as a download; a run
 * cancelled during its from-scratch comparison keeps the adapted model it already has). A run
 * whose budget ended before early stopping can continue from the weights it kept. Cancel is
 * answered within CANCEL_GRACE_MS: the worker stops after its current step, or is ended. A
 * worker error or the worker's death (worker-life.ts) fails the run at once.
 */
import { create } from 'zustand';
import type { EpochUnit } from '../../core/data';
import { compareWithModel, type ImportSummary } from '../../core/finetune';
import { packedBehaviorCounts, sequenceRefs, type PackedLog, type SequenceRef } from '../../core/packed-log';
import type { MetricSet } from '../../core/metrics';
import { Vocabulary } from '../../core/vocab';
import type { BackendChoice } from '../../lib/index';
import {
  buildStartMessage,
  DEFAULT_FINETUNE_SETTINGS,
  type BaselineFigures,
  type ContinueFrom,
  type FinetuneOutcome,
  type FinetuneSettings,
  type FromWorker,
  type ModelFilesMessage,
  type PreparedInfo,
  type ProgressPoint,
  type ScratchOutcome,
  type ToWorker,
} from '../../train/finetune-protocol';
import { importLogInWorker, type ImportSource } from '../../browser/log-import';
import { isLifeMessage, lifeLockName, watchLife } from '../../browser/worker-life';
import { dataFileUrl, env } from '../../env';
import { modelFileStem } from '../../core/finetune';
import { BUNDLED_DATASETS, download, exportFiles, type BundledDataset } from '../lib/finetune-data';
import { getAdaptedModel, newModelId } from '../../browser/saved-models';
import { adaptedIdOf, useAdaptedStore } from './adapted-store';
import { useModelStore } from './model-store';
import { errorMessage } from '../../core/errors';

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
  /** The model the summary compares the data with (the model in use when it was made): its name and key. */
  baseName: string;
  baseKey: string;
}

/** What a run keeps to continue from where it stopped. */
export interface Resume {
  files: ModelFilesMessage;
  settings: FinetuneSettings;
  continueFrom: ContinueFrom;
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
  unsaved: ModelFilesMessage | null;
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

/**
 * A worker that has not stopped this long after Cancel (busy outside a training step: starting a
 * backend, evaluating) is ended, and a new one is started for the next run.
 */
export const CANCEL_GRACE_MS = 300;

const CANCELLED_STAGE = 'cancelled: no model was changed';
const CANCELLED_SCRATCH_STAGE = 'cancelled: the adapted model was kept, the from-scratch comparison was not finished';

/** The training worker, and how to end it without its death being reported. */
let worker: { instance: Worker; end: () => void } | null = null;
let runId = 0;
/** The last run whose start message went to the worker. */
let posted = 0;
let vocabularyOf: { key: string; value: Promise<{ name: string; behaviors: Vocabulary }> } | null = null;

/** Key of the model in use (its URL, or idb:<id>); the shipped model before anything is loaded. */
function activeKey(): string {
  return useModelStore.getState().url || env.modelUrl;
}

/** The files of the model in use (fresh copies: they are transferred to the worker). */
async function activeModelFiles(key = activeKey()): Promise<ModelFilesMessage> {
  const id = adaptedIdOf(key);
  if (id !== null) {
    const record = await getAdaptedModel(id);
    if (!record) throw new Error(`model ${id} is no longer stored on this device`);
    return { manifestText: record.manifestText, shards: record.shards };
  }
  const { fetchModelFiles } = await import('../../model/pipeline');
  const { manifestText, shards } = await fetchModelFiles(key);
  return { manifestText, shards };
}

/** Name and behavior vocabulary of the model in use: what decides which behaviors are new. */
function activeVocabulary(): Promise<{ key: string; name: string; behaviors: Vocabulary }> {
  const key = activeKey();
  if (vocabularyOf?.key !== key) {
    const value = activeModelFiles(key).then(({ manifestText }) => {
      const manifest = JSON.parse(manifestText);
      return { name: String(manifest.name), behaviors: Vocabulary.fromJSON(manifest.vocabulary.behaviors) };
    });
    value.catch(() => {
      if (vocabularyOf?.value === value) vocabularyOf = null;
    });
    vocabularyOf = { key, value };
  }
  return vocabularyOf.value.then((v) => ({ ...v, key }));
}

/** Resolves in a later task, so the page can paint and answer input in between. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
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
      const base = await activeVocabulary();
      const { log, summary } = await importLogInWorker(source, {
        known: base.behaviors.tokens,
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
      set({
        importing: false,
        importProgress: null,
        data: { name, log, summary, sequences, warnings: log.warnings, baseName: base.name, baseKey: base.key },
      });
    } catch (e) {
      if (id !== importId) return;
      // The previous data (and every model) stay as they were.
      set({ importing: false, importProgress: null, importError: errorMessage(e) });
    }
  };

  // Another model in use (once it is ready): the summary says what that one knows.
  useModelStore.subscribe((state) => {
    const data = get().data;
    if (!data || state.status !== 'ready' || activeKey() === data.baseKey) return;
    activeVocabulary()
      .then((base) => {
        const now = get().data;
        if (now !== data) return;
        const summary = {
          ...now.summary,
          ...compareWithModel(packedBehaviorCounts(now.log), new Set(base.behaviors.tokens)),
        };
        set({ data: { ...now, summary, baseName: base.name, baseKey: base.key } });
      })
      .catch(() => {});
  });

  const patchRun = (patch: Partial<RunState>) => set((s) => ({ run: { ...s.run, ...patch } }));

  /** The adapted model being saved on this device (kept while the from-scratch arm trains). */
  let saving: Promise<boolean> | null = null;

  /** Saves the adapted model; a failure is offered as a download. Resolves whether it was kept. */
  const save = (outcome: FinetuneOutcome): Promise<boolean> => {
    const id = newModelId();
    const name = JSON.parse(outcome.files.manifestText).name as string;
    return useAdaptedStore
      .getState()
      .save({
        id,
        name,
        createdAt: Date.now(),
        dataName: get().data?.name ?? '',
        manifestText: outcome.files.manifestText,
        shards: outcome.files.shards,
        metrics: { before: outcome.before, after: outcome.after },
        origin: 'adapted',
      })
      .then(
        () => {
          patchRun({ savedId: id });
          return true;
        },
        (e: unknown) => {
          patchRun({
            error: `the adapted model could not be saved on this device (${errorMessage(e)}); download it to keep it`,
            unsaved: outcome.files,
          });
          return false;
        },
      );
  };

  /** After 'done': the run ends once its model is stored (or could not be). */
  const finish = async () => {
    const kept = saving ? await saving : false;
    saving = null;
    if (get().run.status !== 'saving') return;
    patchRun(kept ? { status: 'done', stage: 'saved on this device' } : { status: 'error' });
  };

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
        // Finished after Cancel was pressed: Cancel wins, nothing is kept.
        if (get().run.status === 'cancelling') {
          runId++;
          patchRun({ status: 'cancelled', stage: CANCELLED_STAGE });
          return;
        }
        const { files, ...outcome } = m.outcome;
        const run = get().run;
        const settings = run.settings ?? get().settings;
        patchRun({
          adapted: outcome,
          after: outcome.after,
          stage: settings.compareScratch && !run.continued ? run.stage : 'saving on this device',
          resume:
            run.info && outcome.stop.reason === 'budget'
              ? {
                  files: { manifestText: files.manifestText, shards: files.shards.map((b) => b.slice(0)) },
                  settings,
                  continueFrom: {
                    epochs: outcome.epochsRun,
                    steps: outcome.steps,
                    seconds: outcome.seconds,
                    baseName: run.baseName,
                    before: outcome.before,
                    baselines: outcome.baselines,
                    newBehaviors: run.info.newBehaviors,
                    frequencies: run.info.frequencies,
                  },
                }
              : null,
        });
        saving = save(m.outcome);
        return;
      }
      case 'scratch':
        patchRun({ scratch: m.outcome });
        return;
      case 'cancelled':
        runId++;
        patchRun({ status: 'cancelled', stage: get().run.adapted ? CANCELLED_SCRATCH_STAGE : CANCELLED_STAGE });
        return;
      case 'error':
        runId++;
        patchRun({ status: 'error', error: m.message });
        return;
      case 'done':
        runId++;
        // Cancel pressed during the from-scratch arm: the adapted model is kept, the comparison is not finished.
        if (get().run.status === 'cancelling') {
          patchRun({ status: 'cancelled', stage: CANCELLED_SCRATCH_STAGE });
          return;
        }
        patchRun({ status: 'saving', stage: 'saving on this device' });
        void finish();
        return;
    }
  };

  /** Ends the run in progress (if any) with an error; its later messages are ignored. */
  const failRun = (error: string) => {
    const { status } = get().run;
    if (!isBusy(status) || status === 'saving') return;
    runId++;
    const stage = get().run.adapted ? CANCELLED_SCRATCH_STAGE : CANCELLED_STAGE;
    patchRun(status === 'cancelling' ? { status: 'cancelled', stage } : { status: 'error', error });
  };

  /** Builds and posts a start request; `files` is the model to train from. */
  const launch = async (
    id: number,
    files: () => Promise<ModelFilesMessage>,
    settings: FinetuneSettings,
    continueFrom?: ContinueFrom,
  ) => {
    const data = get().data;
    if (!data) return;
    try {
      const base = await files();
      if (id !== runId) return; // cancelled meanwhile
      // The split is made here (the summary shows the same parts): the worker trains on train,
      // picks the epoch on validation and reports on held-out only.
      const message: ToWorker = buildStartMessage({
        runId: id,
        base,
        data: { name: data.name, sequences: data.sequences, log: data.log },
        settings: { ...settings, backend: useModelStore.getState().requestedBackend },
        continueFrom,
      });
      ensureWorker().postMessage(message, base.shards);
      posted = id;
    } catch (e) {
      if (id === runId) failRun(errorMessage(e));
    }
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
        stopWatching = watchLife(name, () =>
          died('the training worker stopped unexpectedly (out of memory?); no model was changed'),
        );
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
      if (lastImport && (importError !== null || data?.summary.format === 'timestamped'))
        void accept(lastImport.name, lastImport.source);
    },
    setSettings: (patch) => set((s) => ({ settings: { ...s.settings, ...patch } })),

    start: async () => {
      const { data, settings, run } = get();
      if (!data || isBusy(run.status)) return;
      const id = ++runId;
      const key = activeKey();
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
      await launch(id, () => activeModelFiles(key), settings);
    },

    continueRun: () => {
      const { data, run } = get();
      const resume = run.resume;
      if (!data || isBusy(run.status) || !resume) return;
      const id = ++runId;
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
      // Copies: the kept files stay usable if this start fails.
      const files = { manifestText: resume.files.manifestText, shards: resume.files.shards.map((b) => b.slice(0)) };
      void launch(id, async () => files, resume.settings, resume.continueFrom);
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
        // Still reading the model to start from: the worker has nothing to stop.
        runId++;
        patchRun({ status: 'cancelled', stage: CANCELLED_STAGE });
        return;
      }
      worker?.instance.postMessage({ type: 'cancel', runId: id } satisfies ToWorker);
      setTimeout(giveUp, CANCEL_GRACE_MS);
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
