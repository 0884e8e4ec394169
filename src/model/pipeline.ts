/**
 * The one entry point to the model (transformers.js style), for the app and the library
 * (src/lib/index.ts exports loadModel):
 *
 *   const model = await loadModel(url, { onProgress });
 *   const top5 = await model.predictNext(history, { weekday, slot, location }, { k: 5 });
 *
 * A model comes from a model.json URL, files a person picked, or files in memory (ModelSource).
 * Behind it: model files fetched with progress, checked, and kept in the Cache API only once
 * complete and verified (fetch-model.ts), the backend chosen by capability and measurement, and
 * all GPU reads asynchronous. Failures are typed (errors.ts). Its settings (cache name, the
 * shipped model's URL) are in `env` (src/env.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { encodeQuery } from '../core/batch';
import { env } from '../env';
import { chooseBackend } from './backend';
import { fetchModelFiles } from './fetch-model';
import { ModelFormatError } from './errors';
import { fullContextQuery, Predictor } from './predictor';
import type { BehaviorModel, LoadModelOptions, ModelFiles, ModelSource } from './pipeline-types';
import { modelFromArtifacts, parseManifest, shardPaths, verifyShards, type ModelManifest } from './weights';

export { Predictor } from './predictor';
export { fetchModelFiles, type FetchedModel } from './fetch-model';
export { BackendUnavailableError, ModelFetchError, ModelFormatError, ModelIntegrityError } from './errors';
export type {
  BackendChoice,
  BackendName,
  LoadProgress,
  ModelFiles,
  ModelInfo,
  ModelSource,
  Prediction,
} from './pipeline-types';

/** Options of a load (the public LoadModelOptions). */
export type PipelineOptions = LoadModelOptions;

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
  const predictor = new Predictor(loaded, backend, files, options.engine ?? env.engine);
  onProgress({ stage: 'warmup', loaded: 0, total: 1, message: 'timing one prediction in plain JS', fromCache });
  await predictor.choosePredictEngine();
  onProgress({ stage: 'ready', loaded: 1, total: 1, message: `ready on ${backend.name}`, fromCache });
  return predictor;
}

/** The last component of a path: a manifest may name shards in a subfolder, a file picker gives bare names. */
function baseName(path: string): string {
  return path.split('/').pop() ?? path;
}

/**
 * The model files of one picked manifest: its text and, in its path order, the shards it names
 * among `picked` (a file picker gives bare names, so a shard is matched by its last path part).
 * Throws a ModelFormatError naming the manifest and the shards that were not chosen.
 */
export async function pickedModelFiles(manifestFile: File, picked: readonly File[]): Promise<ModelFiles> {
  const manifestText = await manifestFile.text();
  const byName = new Map(picked.map((f) => [f.name, f]));
  const paths = shardPaths(parseManifest(manifestText, manifestFile.name));
  const missing = paths.filter((p) => !byName.has(baseName(p)));
  if (missing.length > 0) {
    const many = missing.length > 1;
    throw new ModelFormatError(
      manifestFile.name,
      null,
      `names the shard file${many ? 's' : ''} ${missing.join(', ')}, which ${many ? 'were' : 'was'} not chosen; choose ${many ? 'them' : 'it'} together with the manifest`,
    );
  }
  return { manifestText, shards: await Promise.all(paths.map((p) => byName.get(baseName(p))!.arrayBuffer())) };
}

/** A picked model: the one `.json` file among `picked` and the shards it names, in its order. */
export async function filesFromPicked(picked: readonly File[]): Promise<{ files: ModelFiles; source: string }> {
  const manifests = picked.filter((f) => f.name.toLowerCase().endsWith('.json'));
  const names = picked.map((f) => f.name).join(', ') || 'no file';
  if (manifests.length !== 1) {
    throw new ModelFormatError(
      names,
      null,
      `choose one model manifest (.json) with its .bin shard files (${manifests.length} .json files were chosen)`,
    );
  }
  return { files: await pickedModelFiles(manifests[0], picked), source: manifests[0].name };
}

function isFileList(source: ModelSource): source is readonly File[] | FileList {
  return (typeof FileList !== 'undefined' && source instanceof FileList) || Array.isArray(source);
}

/**
 * Loads a model from a model.json URL: files fetched and verified (or the complete copy kept in
 * this browser when the server's fail; the `notice` of a progress event says why), then the backend.
 */
async function loadFromUrl(modelUrl: string, options: LoadModelOptions): Promise<Predictor> {
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
  return loadPredictorFromFiles(files, modelUrl, {
    backend: options.backend,
    engine: options.engine,
    onProgress,
    signal: options.signal,
    fromCache: files.fromCache,
  });
}

/**
 * Loads a model (see loadModel) as the Predictor it is, with the members the app's internals and
 * the benchmarks use beyond the public BehaviorModel.
 */
export async function loadPredictor(source: ModelSource, options: LoadModelOptions = {}): Promise<Predictor> {
  if (typeof source === 'string' || source instanceof URL) return loadFromUrl(String(source), options);
  const { cache: _cache, ...rest } = options;
  if (isFileList(source)) {
    const picked = await filesFromPicked(Array.from(source));
    return loadPredictorFromFiles(picked.files, picked.source, rest);
  }
  if ('manifestText' in source) return loadPredictorFromFiles(source, source.name ?? 'model files in memory', rest);
  if ('manifest' in source)
    return loadPredictorFromFiles(
      { manifestText: JSON.stringify(source.manifest), shards: source.shards },
      'model manifest in memory',
      rest,
    );
  throw new TypeError(
    'loadModel: the source must be a model.json URL, picked files, or { manifestText | manifest, shards }',
  );
}

/**
 * Loads a BehaveGPT model from a model.json URL (fetched with progress, verified and kept in the
 * Cache API), from files a person picked (model.json and its shards), or from model files in
 * memory. The backend is chosen by capability and a timed prediction unless `backend` names
 * one. Throws ModelFetchError, ModelFormatError, ModelIntegrityError or BackendUnavailableError,
 * or the signal's reason when aborted.
 */
export function loadModel(source: ModelSource, options: LoadModelOptions = {}): Promise<BehaviorModel> {
  return loadPredictor(source, options);
}

export { tf };
