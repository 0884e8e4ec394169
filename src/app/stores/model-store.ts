/**
 * The model: loading progress, the predictor, the backend it runs on, or the error that stopped
 * it. The pipeline (and with it TensorFlow.js) is imported on first load, so the page paints
 * before the large chunk arrives. A model comes from a URL (the shipped one) or from files in
 * memory (an adapted model from IndexedDB); `url` names either.
 */
import { create } from 'zustand';
import type { ModelFiles, PipelineOptions, Predictor } from '../../model/pipeline';
import type { BackendChoice, BackendName, LoadProgress, ModelSummary } from '../../model/pipeline-types';

export type ModelStatus = 'idle' | 'loading' | 'ready' | 'error';

export interface ModelState {
  status: ModelStatus;
  url: string;
  requestedBackend: BackendName | 'auto';
  progress: LoadProgress | null;
  /** Whether the model files came from the Cache API (known once loaded). */
  fromCache: boolean | null;
  predictor: Predictor | null;
  backend: BackendChoice | null;
  summary: ModelSummary | null;
  error: string | null;
  /** Milliseconds from the start of loading to ready. */
  loadMs: number | null;
  load: (url: string, backend: BackendName | 'auto') => Promise<void>;
  /** Loads model files from memory; `key` names them (e.g. `idb:<id>`) and plays the role of the URL. */
  loadFiles: (key: string, files: () => Promise<ModelFiles>, backend: BackendName | 'auto') => Promise<void>;
}

let loadId = 0;

/** What a load resets: nothing of a previous model survives into the next one. */
const UNLOADED = { progress: null, fromCache: null, predictor: null, backend: null, summary: null, error: null, loadMs: null } as const;

export const useModelStore = create<ModelState>()((set, get) => {
  /** One load at a time, latest wins: a superseded load's predictor is disposed unseen. */
  const start = async (url: string, backend: BackendName | 'auto', open: (options: PipelineOptions) => Promise<Predictor>) => {
    const current = get();
    // Already loading or loaded with the same settings (e.g. React StrictMode's second effect).
    if ((current.status === 'loading' || current.status === 'ready') && current.url === url && current.requestedBackend === backend) return;
    const id = ++loadId;
    current.predictor?.dispose();
    set({
      ...UNLOADED,
      status: 'loading',
      url,
      requestedBackend: backend,
      progress: { stage: 'download', loaded: 0, total: 0, message: 'loading TensorFlow.js' },
    });
    const t0 = performance.now();
    try {
      const predictor = await open({
        backend,
        onProgress: (progress) => {
          if (id !== loadId) return;
          set((s) => ({ progress, fromCache: progress.fromCache ?? s.fromCache }));
        },
      });
      if (id !== loadId) {
        predictor.dispose();
        return;
      }
      set({
        status: 'ready',
        predictor,
        backend: predictor.backend,
        summary: predictor.summary,
        loadMs: performance.now() - t0,
      });
    } catch (e) {
      if (id !== loadId) return;
      set({ status: 'error', error: e instanceof Error ? e.message : String(e) });
    }
  };

  return {
    status: 'idle',
    url: '',
    requestedBackend: 'auto',
    ...UNLOADED,

    load: (url, backend) =>
      start(url, backend, async (options) => (await import('../../model/pipeline')).loadPredictor(url, options)),
    loadFiles: (key, files, backend) =>
      start(key, backend, async (options) => {
        const { loadPredictorFromFiles } = await import('../../model/pipeline');
        return loadPredictorFromFiles(await files(), key, options);
      }),
  };
});
