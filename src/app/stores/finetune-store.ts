/**
 * Fine-tune: the imported data and its summary, the run settings, the run's live state, and the
 * worker that trains. The page only parses, posts and draws; training is the worker's. A run
 * starts from the model in use (the shipped one, one opened from files, or one adapted before).
 * An import that fails leaves the previous data in place; a run that fails or is cancelled
 * leaves every model as it was (only a finished run saves a new model). A run whose budget ended
 * before early stopping can continue from the weights it kept.
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
import { readLogFile } from '../../browser/behavior-logs';
import { env } from '../../env';
import { BUNDLED_DATASETS, fetchBundled, type BundledDataset } from '../lib/finetune-data';
import { getAdaptedModel, newModelId } from '../lib/model-store-idb';
import { adaptedIdOf, useAdaptedStore } from './adapted-store';
import { useModelStore } from './model-store';

export interface ImportedData {
  name: string;
  sequences: BehaviorSequence[];
  summary: ImportSummary;
  /** The model the summary compares the data with (the model in use when it was made): its name and key. */
  baseName: string;
  baseKey: string;
}

export type RunStatus = 'idle' | 'starting' | 'running' | 'cancelling' | 'done' | 'cancelled' | 'error';

/** What a run keeps to continue from where it stopped. */
export interface Resume {
  files: ModelFilesMessage;
  settings: FinetuneSettings;
  continueFrom: ContinueFrom;
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
  resume: Resume | null;
  /** How many times this run was continued. */
  continued: number;
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
  /** Trains the kept model for another budget, from where the last run stopped. */
  continueRun: () => void;
  cancel: () => void;
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
  resume: null,
  continued: 0,
};

/** A worker that does not answer a cancel within this time is ended (and a new one started next run). */
const CANCEL_GRACE_MS = 5000;

let worker: Worker | null = null;
let runId = 0;
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
function activeVocabulary(): Promise<{ name: string; behaviors: Vocabulary }> {
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
  return vocabularyOf.value;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export const useFinetuneStore = create<FinetuneState>()((set, get) => {
  const summarize = async (name: string, sequences: BehaviorSequence[], log: Pick<ParsedLog, 'behaviors' | 'events' | 'format' | 'warnings'>): Promise<ImportedData> => {
    const baseKey = activeKey();
    const base = await activeVocabulary();
    return { name, sequences, summary: summarizeImport({ ...log, sequences }, base.behaviors), baseName: base.name, baseKey };
  };

  const accept = async (name: string, read: () => Promise<ParsedLog>) => {
    set({ importing: true, importError: null });
    try {
      const log = await read();
      set({ importing: false, data: await summarize(name, log.sequences, log) });
    } catch (e) {
      // The previous data (and every model) stay as they were.
      set({ importing: false, importError: message(e) });
    }
  };

  // Another model in use (once it is ready): the summary says what that one knows.
  useModelStore.subscribe((state) => {
    const data = get().data;
    if (!data || state.status !== 'ready' || activeKey() === data.baseKey) return;
    const behaviors = [...new Set(data.sequences.flatMap((s) => s.events.map((e) => e.behavior)))].sort();
    summarize(data.name, data.sequences, { behaviors, events: data.summary.events, format: data.summary.format, warnings: [] })
      .then((next) => {
        if (get().data === data) set({ data: next });
      })
      .catch(() => {});
  });

  const patchRun = (patch: Partial<RunState>) => set((s) => ({ run: { ...s.run, ...patch } }));

  const save = (outcome: FinetuneOutcome) => {
    const id = newModelId();
    const name = JSON.parse(outcome.files.manifestText).name as string;
    // Copies: the worker's buffers are kept for a continuation, IndexedDB clones what it stores.
    useAdaptedStore
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
        () => patchRun({ savedId: id, stage: get().run.status === 'done' ? 'saved on this device' : get().run.stage }),
        (e: unknown) => patchRun({ status: 'error', error: `the adapted model could not be saved: ${message(e)}` }),
      );
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
        const { files, ...outcome } = m.outcome;
        const run = get().run;
        const settings = run.settings ?? get().settings;
        const info = run.info;
        patchRun({
          adapted: outcome,
          after: outcome.after,
          resume:
            info && outcome.stop.reason === 'budget'
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
                    newBehaviors: info.newBehaviors,
                    frequencies: info.frequencies,
                  },
                }
              : null,
        });
        save(m.outcome);
        return;
      }
      case 'scratch':
        patchRun({ scratch: m.outcome });
        return;
      case 'done':
        patchRun({ status: 'done', stage: get().run.savedId ? 'saved on this device' : 'saving on this device' });
        return;
      case 'cancelled':
        patchRun({ status: 'cancelled', stage: cancelledStage() });
        return;
      case 'error':
        patchRun({ status: 'error', error: m.message });
        return;
    }
  };

  const ensureWorker = (): Worker => {
    if (worker) return worker;
    const w = new Worker(new URL('../../browser/finetune.worker.ts', import.meta.url), { type: 'module' });
    w.onmessage = (event: MessageEvent<FromWorker>) => onMessage(event.data);
    w.onerror = (event) => {
      event.preventDefault();
      patchRun({ status: 'error', error: `the training worker failed: ${event.message || 'unknown error'}` });
      w.terminate();
      if (worker === w) worker = null;
    };
    worker = w;
    return w;
  };

  // A run cancelled during the from-scratch arm has already kept its adapted model.
  const cancelledStage = () => (get().run.adapted ? 'cancelled: the adapted model was kept, the from-scratch comparison was not finished' : 'cancelled: no model was changed');

  const busy = (status: RunStatus) => ['starting', 'running', 'cancelling'].includes(status);

  /** Builds and posts a start request; `files` is the model to train from. */
  const launch = async (id: number, files: () => Promise<ModelFilesMessage>, settings: FinetuneSettings, continueFrom?: ContinueFrom) => {
    const data = get().data;
    if (!data) return;
    try {
      const base = await files();
      if (id !== runId) return;
      if (get().run.status === 'cancelling') {
        runId++;
        patchRun({ status: 'cancelled', stage: 'cancelled: no model was changed' });
        return;
      }
      // The split is made here (the summary shows the same parts): the worker trains on train,
      // picks the epoch on validation and reports on held-out only.
      const message: ToWorker = buildStartMessage({
        runId: id,
        base,
        data,
        settings: { ...settings, backend: useModelStore.getState().requestedBackend },
        continueFrom,
      });
      ensureWorker().postMessage(message, base.shards);
    } catch (e) {
      if (id === runId) patchRun({ status: 'error', error: message(e) });
    }
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
      if (!data || busy(run.status)) return;
      const id = ++runId;
      const key = activeKey();
      // The summary was made against the model in use (and follows it), so it names the base.
      set({ run: { ...IDLE_RUN, status: 'starting', stage: 'reading the model to start from', settings, baseName: data.baseName } });
      await launch(id, () => activeModelFiles(key), settings);
    },

    continueRun: () => {
      const { data, run } = get();
      const resume = run.resume;
      if (!data || busy(run.status) || !resume) return;
      const id = ++runId;
      const previous = run;
      set({
        run: {
          ...previous,
          status: 'starting',
          stage: `continuing from epoch ${resume.continueFrom.epochs}`,
          error: null,
          after: null,
          adapted: null,
          savedId: null,
          resume: null,
          continued: previous.continued + 1,
          // The comparison's other rows do not change; the from-scratch arm is not trained again.
          before: previous.before,
          baselines: previous.baselines,
        },
      });
      const files = { manifestText: resume.files.manifestText, shards: resume.files.shards.map((b) => b.slice(0)) };
      void launch(id, async () => files, resume.settings, resume.continueFrom);
    },

    cancel: () => {
      const { run } = get();
      if (!['starting', 'running'].includes(run.status)) return;
      const id = runId;
      patchRun({ status: 'cancelling', stage: 'cancelling…' });
      worker?.postMessage({ type: 'cancel', runId: id } satisfies ToWorker);
      setTimeout(() => {
        if (id !== runId || get().run.status !== 'cancelling') return;
        // The worker is busy outside a training step (backend start, evaluation): end it.
        worker?.terminate();
        worker = null;
        runId++;
        patchRun({ status: 'cancelled', stage: cancelledStage() });
      }, CANCEL_GRACE_MS);
    },
  };
});
