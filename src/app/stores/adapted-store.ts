/**
 * Adapted models on this device (IndexedDB): the list both the Fine-tune tab and the Predict
 * model picker show, and switching the model Predict uses between the base and an adapted one.
 */
import { create } from 'zustand';
import {
  deleteAdaptedModel,
  getAdaptedModel,
  listAdaptedModels,
  saveAdaptedModel,
  type AdaptedModelInfo,
  type AdaptedModelRecord,
} from '../../browser/saved-models';
import { env } from '../../env';
import { useModelStore } from './model-store';

/** Model-store key of an adapted model (in place of a URL). */
export const ADAPTED_KEY_PREFIX = 'idb:';

export function adaptedKey(id: string): string {
  return ADAPTED_KEY_PREFIX + id;
}

/** Id of the adapted model a model-store key names, or null for the base model. */
export function adaptedIdOf(key: string): string | null {
  return key.startsWith(ADAPTED_KEY_PREFIX) ? key.slice(ADAPTED_KEY_PREFIX.length) : null;
}

export interface AdaptedState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  models: AdaptedModelInfo[];
  error: string | null;
  refresh: () => Promise<void>;
  save: (record: AdaptedModelRecord) => Promise<void>;
  remove: (id: string) => Promise<void>;
  /** Predict with the base model (null) or an adapted one. */
  use: (id: string | null) => Promise<void>;
}

export const useAdaptedStore = create<AdaptedState>()((set, get) => ({
  status: 'idle',
  models: [],
  error: null,

  refresh: async () => {
    set((s) => ({ status: s.status === 'ready' ? 'ready' : 'loading' }));
    try {
      set({ status: 'ready', models: await listAdaptedModels(), error: null });
    } catch (e) {
      set({ status: 'error', error: e instanceof Error ? e.message : String(e) });
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
      set({ error: e instanceof Error ? e.message : String(e) });
      return;
    }
    // Deleting the model in use hands Predict back to the base model.
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
        if (!record) throw new Error(`adapted model ${id} is no longer stored on this device`);
        return { manifestText: record.manifestText, shards: record.shards };
      },
      requestedBackend,
    );
  },
}));
