/**
 * The model: loading progress, the predictor, the backend it runs on, or the error that stopped
 * it. The library (and with it TensorFlow.js) is imported on first load, so the page paints
 * before the large chunk arrives. A model comes from a URL (the shipped one) or from files in
 * memory (an adapted model from IndexedDB); `url` names either. A load that fails while another
 * model is in use leaves that model in use and says why (`loadError`); a newer load aborts an
 * older one.
 */
import { create } from 'zustand';
import type {
  BackendChoice,
  BackendName,
  BehaviorModel,
  LoadModelOptions,
  LoadProgress,
  ModelFiles,
  ModelInfo,
} from '../../lib/index';
import { errorMessage } from '../../core/errors';

export type ModelStatus = 'idle' | 'loading' | 'ready' | 'error';

export interface ModelState {
  status: ModelStatus;
  url: string;
  requestedBackend: BackendName | 'auto';
  progress: LoadProgress | null;
  /** Whether the model files came from the Cache API (known once loaded). */
  fromCache: boolean | null;
  predictor: BehaviorModel | null;
  backend: BackendChoice | null;
  summary: ModelInfo | null;
  error: string | null;
  /** Something to know about the model in use, e.g. that the server's files failed and the kept copy is used. */
  notice: string | null;
  /** A later load that failed while this model stayed in use: what was asked for and why it failed. */
  loadError: { url: string; message: string } | null;
  /** Milliseconds from the start of loading to ready. */
  loadMs: number | null;
  load: (url: string, backend: BackendName | 'auto') => Promise<void>;
  /** Loads model files from memory; `key` names them (e.g. `idb:<id>`) and plays the role of the URL. */
  loadFiles: (key: string, files: () => Promise<ModelFiles>, backend: BackendName | 'auto') => Promise<void>;
}

let loadId = 0;

/** The model last ready, with how it was loaded: what a failed load goes back to. */
type InUse = Pick<ModelState, 'url' | 'requestedBackend' | 'fromCache' | 'notice' | 'loadMs'> & {
  predictor: BehaviorModel;
  backend: BackendChoice;
  summary: ModelInfo;
  /** Loads this model again (on another backend after a lost GPU device). */
  open: Open;
  stopWatching: () => void;
};
let inUse: InUse | null = null;

type Open = (options: LoadModelOptions) => Promise<BehaviorModel>;

/** Frees a predictor; one whose GPU device was lost may fail to, which costs nothing more. */
function release(predictor: BehaviorModel): void {
  try {
    predictor.dispose();
  } catch {
    // tensors of a lost device
  }
}

/** What a load resets: nothing of a previous model survives into the next one. */
const UNLOADED = {
  progress: null,
  fromCache: null,
  predictor: null,
  backend: null,
  summary: null,
  error: null,
  notice: null,
  loadError: null,
  loadMs: null,
} as const;

/** The store fields of a model in use. */
function shown(m: InUse): Partial<ModelState> {
  const { url, requestedBackend, predictor, backend, summary, fromCache, notice, loadMs } = m;
  return { url, requestedBackend, predictor, backend, summary, fromCache, notice, loadMs };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export const useModelStore = create<ModelState>()((set, get) => {
  let loading: AbortController | null = null;

  /**
   * One load at a time, latest wins: a superseded load is aborted and its predictor disposed
   * unseen. The model in use stays in memory until the new one is ready, and stays in use if the
   * new one fails.
   */
  const start = async (url: string, backend: BackendName | 'auto', open: Open, recovery: string | null = null) => {
    const current = get();
    // Already loading or loaded with the same settings (e.g. React StrictMode's second effect).
    const same =
      (current.status === 'loading' || current.status === 'ready') &&
      current.url === url &&
      current.requestedBackend === backend;
    if (same && recovery === null) return;
    const id = ++loadId;
    loading?.abort(new DOMException('superseded by a newer load', 'AbortError'));
    const controller = new AbortController();
    loading = controller;
    const previous = inUse;
    set({
      ...UNLOADED,
      status: 'loading',
      url,
      requestedBackend: backend,
      progress: { stage: 'download', loaded: 0, total: 0, message: 'loading TensorFlow.js' },
    });
    const t0 = performance.now();
    let notice: string | null = null;
    try {
      const predictor = await open({
        backend,
        signal: controller.signal,
        onProgress: (progress) => {
          if (id !== loadId) return;
          notice = progress.notice ?? notice;
          set((s) => ({ progress, fromCache: progress.fromCache ?? s.fromCache }));
        },
      });
      if (id !== loadId) {
        release(predictor);
        return;
      }
      if (previous) {
        previous.stopWatching();
        release(previous.predictor);
      }
      const said = [
        recovery &&
          `${capitalize(recovery)}: the model was reloaded on ${predictor.backend.name}, and predictions continue there.`,
        notice,
      ];
      const ready: InUse = {
        url,
        requestedBackend: backend,
        predictor,
        backend: predictor.backend,
        summary: predictor.info,
        fromCache: get().fromCache,
        notice: said.filter(Boolean).join(' ') || null,
        loadMs: performance.now() - t0,
        open,
        stopWatching: () => {},
      };
      const { watchDeviceLoss } = await import('../../lib/index');
      // A lost GPU device: move to the next backend by itself, with this model.
      ready.stopWatching = watchDeviceLoss((reason) => {
        if (inUse === ready) void start(url, 'auto', open, reason);
      });
      inUse = ready;
      set({ ...shown(ready), status: 'ready' });
    } catch (e) {
      if (id !== loadId) return;
      const message = errorMessage(e);
      if (previous && recovery === null) {
        // The model in use stays: its backend is made current again (a failed load may have switched it).
        await (await import('../../lib/index')).startBackend(previous.backend.name);
        if (id !== loadId) return;
        set({ ...shown(previous), status: 'ready', progress: null, loadError: { url, message } });
        return;
      }
      set({
        status: 'error',
        error: recovery ? `${recovery}, and reloading the model elsewhere failed: ${message}` : message,
      });
    } finally {
      if (loading === controller) loading = null;
    }
  };

  return {
    status: 'idle',
    url: '',
    requestedBackend: 'auto',
    ...UNLOADED,

    load: (url, backend) =>
      start(url, backend, async (options) => (await import('../../lib/index')).loadModel(url, options)),
    loadFiles: (key, files, backend) =>
      start(key, backend, async (options) => {
        const { loadModel } = await import('../../lib/index');
        return loadModel({ ...(await files()), name: key }, options);
      }),
  };
});
