/**
 * The app's one entry point to the model (transformers.js style):
 *
 *   const predictor = await loadPredictor(url, { onProgress });
 *   const top5 = await predictor.predictNext(history, { weekday, slot, location }, 5);
 *
 * Behind it: model files fetched with progress, checked, and kept in the Cache API only once
 * complete and verified (fetch-model.ts), the backend chosen by capability and measurement, and
 * all GPU reads asynchronous. Failures are typed (errors.ts). Its settings (cache name, the
 * shipped model's URL) are in `env` (src/env.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { encodeQuery } from '../core/batch';
import { chooseBackend } from './backend';
import { fetchModelFiles, type ModelFiles } from './fetch-model';
import { fullContextQuery, Predictor } from './predictor';
import type { BackendName, LoadProgress } from './pipeline-types';
import { modelFromArtifacts, parseManifest, verifyShards, type ModelManifest } from './weights';

export { Predictor } from './predictor';
export { fetchModelFiles, type FetchedModel, type ModelFiles } from './fetch-model';
export { BackendUnavailableError, ModelFetchError, ModelFormatError, ModelIntegrityError } from './errors';
export type { BackendChoice, BackendName, LoadProgress, ModelSummary, Prediction } from './pipeline-types';

export interface PipelineOptions {
  backend?: BackendName | 'auto';
  /** Use the Cache API for the weight files (default: env.useBrowserCache, where the Cache API exists). */
  cache?: boolean;
  onProgress?: (p: LoadProgress) => void;
  /** Stops the load (fetches, checks, backend start) with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Median latency (ms) of one full-context prediction on the current backend, with a fresh copy
 * of the model (tensors live on a backend): what chooseBackend compares. Shared by the page and
 * the fine-tuning worker.
 */
export async function measurePrediction(manifest: ModelManifest, shards: ArrayBuffer[]): Promise<number> {
  const candidate = modelFromArtifacts(manifest, shards);
  try {
    const { model, behaviors, locations } = candidate;
    const names = behaviors.tokens.filter((_, i) => !behaviors.isSpecial(i));
    const { history, next } = fullContextQuery(names, model.config.contextLength - 1);
    const { batch, position } = encodeQuery(history, next, behaviors, locations, model.config.contextLength);
    for (let i = 0; i < 3; i++) await model.probabilities(batch, [position]);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await model.probabilities(batch, [position]);
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b)[2];
  } finally {
    candidate.model.dispose();
  }
}

/**
 * A predictor from model files in memory (e.g. an adapted model kept in IndexedDB). `source`
 * names the files in error messages.
 */
export async function loadPredictorFromFiles(
  files: ModelFiles,
  source: string,
  options: Omit<PipelineOptions, 'cache'> & { fromCache?: boolean } = {},
): Promise<Predictor> {
  const { onProgress = () => {}, fromCache, signal } = options;
  const { shards, manifestText } = files;
  const manifest = parseManifest(manifestText, source);
  await verifyShards(manifest, shards);
  signal?.throwIfAborted();
  const stored = shards.reduce((s, b) => s + b.byteLength, 0);
  const backend = await chooseBackend({
    preferred: options.backend ?? 'auto',
    measure: () => measurePrediction(manifest, shards),
    onStage: (message) => {
      signal?.throwIfAborted();
      onProgress({ stage: 'backend', loaded: 0, total: 0, message, fromCache });
    },
  });
  signal?.throwIfAborted();
  onProgress({ stage: 'init', loaded: 0, total: 1, message: `building model on ${backend.name}`, fromCache });
  const loaded = modelFromArtifacts(manifest, shards, source);
  onProgress({ stage: 'ready', loaded: 1, total: 1, message: `ready on ${backend.name}`, fromCache });
  return new Predictor(loaded, backend, stored);
}

/**
 * Loads a model by URL: files fetched and verified (or the complete copy kept in this browser
 * when the server's fail; the `notice` of a progress event says why), then the backend. Throws
 * ModelFetchError, ModelFormatError, ModelIntegrityError or BackendUnavailableError, or the
 * signal's reason when aborted.
 */
export async function loadPredictor(modelUrl: string, options: PipelineOptions = {}): Promise<Predictor> {
  const { onProgress = () => {} } = options;
  const files = await fetchModelFiles(modelUrl, options);
  if (files.fallbackReason) {
    onProgress({
      stage: 'download',
      loaded: 0,
      total: 0,
      message: 'using the copy kept in this browser',
      fromCache: true,
      notice: `The server's model files could not be used (${files.fallbackReason}); the copy kept in this browser is used.`,
    });
  }
  return loadPredictorFromFiles(files, modelUrl, { backend: options.backend, onProgress, signal: options.signal, fromCache: files.fromCache });
}

export { tf };
