/**
 * Models on this device (IndexedDB): those fine-tuned here and those opened from files; the list
 * the Fine-tune tab and the model picker show; switching the model Predict, Generate and
 * Fine-tune use between the shipped one, a `?model=` URL and a stored one; opening model files.
 * Opened files are checked in full before they are stored or used: a bad file leaves the model
 * in use as it was.
 */
import { errorMessage } from '../../core/errors';
import { create } from 'zustand';
import {
  deleteAdaptedModel,
  getAdaptedModel,
  listAdaptedModels,
  newModelId,
  saveAdaptedModel,
  type AdaptedModelInfo,
  type AdaptedModelRecord,
} from '../../browser/saved-models';
import type { MetricSet } from '../../core/metrics';
import { env } from '../../env';
import { useModelStore } from './model-store';

/** Model-store key of a stored model (in place of a URL). */
export const ADAPTED_KEY_PREFIX = 'idb:';

export function adaptedKey(id: string): string {
  return ADAPTED_KEY_PREFIX + id;
}

/** Id of the stored model a model-store key names, or null for a model loaded from a URL. */
export function adaptedIdOf(key: string): string | null {
  return key.startsWith(ADAPTED_KEY_PREFIX) ? key.slice(ADAPTED_KEY_PREFIX.length) : null;
}

export interface AdaptedState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  models: AdaptedModelInfo[];
  error: string | null;
  /** Opening model files: in progress, and the problems of the last attempt (one per file or model). */
  opening: boolean;
  openErrors: string[];
  refresh: () => Promise<void>;
  save: (record: AdaptedModelRecord) => Promise<void>;
  remove: (id: string) => Promise<void>;
  /** Use the shipped model (null) or a stored one. */
  use: (id: string | null) => Promise<void>;
  /** Checks picked or dropped model files, keeps every model that passes on this device and uses the last of them. */
  openFiles: (files: readonly File[]) => Promise<void>;
  /** Loads the model at a same-origin URL (checked by the pipeline) and uses it; false (with the reason in openErrors) when it fails. */
  openUrl: (url: string) => Promise<boolean>;
}

/** Held-out figures an exported adapted model carries (training.finetune.before / after), if any. */
function carriedMetrics(training: Record<string, unknown>): { before: MetricSet; after: MetricSet } | undefined {
  const f = training.finetune as { before?: MetricSet; after?: MetricSet } | undefined;
  return f?.before && f.after ? { before: f.before, after: f.after } : undefined;
}

export const useAdaptedStore = create<AdaptedState>()((set, get) => ({
  status: 'idle',
  models: [],
  error: null,
  opening: false,
  openErrors: [],

  refresh: async () => {
    set((s) => ({ status: s.status === 'ready' ? 'ready' : 'loading' }));
    try {
      set({ status: 'ready', models: await listAdaptedModels(), error: null });
    } catch (e) {
      set({ status: 'error', error: errorMessage(e) });
    }
  },
  save: async (record) => {
    await saveAdaptedModel(record);
    await get().refresh();
  },
  remove: async (id) => {
    try {
      await deleteAdaptedModel(id);
    } catch (e) {
      set({ error: errorMessage(e) });
      return;
    }
    // Deleting the model in use hands Predict back to the shipped model.
    if (adaptedIdOf(useModelStore.getState().url) === id) await get().use(null);
    await get().refresh();
  },
  use: async (id) => {
    const { load, loadFiles, requestedBackend } = useModelStore.getState();
    if (id === null) return load(env.modelUrl, requestedBackend);
    return loadFiles(
      adaptedKey(id),
      async () => {
        const record = await getAdaptedModel(id);
        if (!record) throw new Error(`model ${id} is no longer stored on this device`);
        return { manifestText: record.manifestText, shards: record.shards };
      },
      requestedBackend,
    );
  },
  openFiles: async (files) => {
    set({ opening: true, openErrors: [] });
    try {
      const { modelsFromFiles } = await import('../../browser/model-files');
      const { models, errors } = await modelsFromFiles(files);
      let last: string | null = null;
      for (const m of models) {
        const id = newModelId();
        try {
          await saveAdaptedModel({
            id,
            name: m.manifest.name,
            createdAt: Date.now(),
            dataName: String((m.manifest.training.finetune as { data?: unknown } | undefined)?.data ?? ''),
            manifestText: m.manifestText,
            shards: m.shards,
            metrics: carriedMetrics(m.manifest.training),
            origin: 'opened',
          });
          last = id;
        } catch (e) {
          errors.push(`${m.source}: could not be kept on this device: ${errorMessage(e)}`);
        }
      }
      set({ openErrors: errors });
      await get().refresh();
      if (last !== null) await get().use(last);
    } catch (e) {
      set({ openErrors: [errorMessage(e)] });
    } finally {
      set({ opening: false });
    }
  },
  openUrl: async (url) => {
    set({ opening: true, openErrors: [] });
    try {
      // The pipeline's loading checks the files in full before it keeps or uses anything (src/model/fetch-model.ts).
      const { load, requestedBackend } = useModelStore.getState();
      await load(url, requestedBackend);
      const state = useModelStore.getState();
      if (state.url === url && state.status === 'ready') return true;
      set({ openErrors: [state.loadError?.message ?? state.error ?? `${url} could not be loaded`] });
      return false;
    } catch (e) {
      set({ openErrors: [errorMessage(e)] });
      return false;
    } finally {
      set({ opening: false });
    }
  },
}));
