/**
 * The app's one entry point to the model (transformers.js style):
 *
 *   const predictor = await loadPredictor(url, { onProgress });
 *   const top5 = await predictor.predictNext(history, { weekday, slot, location }, 5);
 *
 * Behind it: model files fetched with progress and kept in the Cache API, the backend chosen
 * by capability and measurement, and all GPU reads asynchronous. Its settings (cache name, the
 * shipped model's URL) are in `env` (src/env.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { encodeQuery } from '../core/batch';
import { env } from '../env';
import { chooseBackend } from './backend';
import { fullContextQuery, Predictor } from './predictor';
import type { BackendName, LoadProgress } from './pipeline-types';
import type { EngineName } from './workloads';
import { modelFromArtifacts, validateManifest, weightBytes, type ModelManifest } from './weights';

export { Predictor } from './predictor';
export type { BackendChoice, BackendName, LoadProgress, ModelSummary, Prediction } from './pipeline-types';

export interface PipelineOptions {
  backend?: BackendName | 'auto';
  /** Run every workload on this engine instead of the one measured fastest for it (model/workloads.ts). */
  engine?: EngineName | 'auto';
  /** Use the Cache API for the weight files (default: env.useBrowserCache, where the Cache API exists). */
  cache?: boolean;
  onProgress?: (p: LoadProgress) => void;
}

async function readWithProgress(response: Response, onBytes: (n: number) => void): Promise<ArrayBuffer> {
  if (!response.body) {
    const buf = await response.arrayBuffer();
    onBytes(buf.byteLength);
    return buf;
  }
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    total += value.length;
    onBytes(value.length);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out.buffer;
}

async function openCache(enabled: boolean): Promise<Cache | null> {
  if (!enabled || typeof caches === 'undefined') return null;
  try {
    return await caches.open(env.cacheName);
  } catch {
    return null; // e.g. an insecure context: load from the network every time.
  }
}

/** SHA-256 of the manifest text: shards are cached under it, so a new model never reuses old shards. */
async function digest(text: string): Promise<string> {
  if (!globalThis.crypto?.subtle) return String(text.length);
  const hash = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(hash).slice(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Deletes cached shards of other versions of these files, so the cache holds one copy of a model. */
async function dropOtherVersions(cache: Cache, urls: string[], version: string): Promise<void> {
  const current = new Set(urls);
  for (const request of await cache.keys()) {
    const url = new URL(request.url);
    const v = url.searchParams.get('v');
    url.search = '';
    if (v !== null && v !== version && current.has(url.href)) await cache.delete(request);
  }
}

/** Fetches model.json (network first, cache when offline) and its shards (cache first). */
export async function fetchModelFiles(
  modelUrl: string,
  options: Pick<PipelineOptions, 'cache' | 'onProgress'> = {},
): Promise<{ manifestText: string; shards: ArrayBuffer[]; fromCache: boolean }> {
  const { onProgress = () => {} } = options;
  const cache = await openCache(options.cache ?? env.useBrowserCache);
  const absolute = new URL(modelUrl, globalThis.location?.href).href;
  let manifestText: string;
  try {
    const res = await fetch(absolute, { cache: 'no-cache' });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    manifestText = await res.text();
    await cache?.put(absolute, new Response(manifestText, { headers: { 'content-type': 'application/json' } }));
  } catch (e) {
    const cached = await cache?.match(absolute);
    if (!cached) throw new Error(`Could not load ${modelUrl}: ${(e as Error).message}`);
    manifestText = await cached.text();
  }
  const manifest = validateManifest(JSON.parse(manifestText), modelUrl);
  const version = await digest(manifestText);
  const urls = manifest.weightsManifest.flatMap((g) => g.paths.map((p) => new URL(p, absolute).href));
  const total = weightBytes(manifest);
  let loaded = 0;
  let fromCache = true;
  const shards: ArrayBuffer[] = [];
  for (const url of urls) {
    const key = `${url}?v=${version}`;
    const cached = await cache?.match(key);
    if (cached) {
      const buf = await cached.arrayBuffer();
      loaded += buf.byteLength;
      shards.push(buf);
      onProgress({ stage: 'download', loaded, total, message: 'weights from cache', fromCache: true });
      continue;
    }
    fromCache = false;
    const res = await fetch(url);
    if (!res.ok) throw new Error(`Could not load ${url}: HTTP ${res.status} ${res.statusText}`);
    const buf = await readWithProgress(res, (n) => {
      loaded += n;
      onProgress({ stage: 'download', loaded, total, message: 'downloading weights', fromCache: false });
    });
    await cache?.put(key, new Response(buf, { headers: { 'content-type': 'application/octet-stream' } }));
    shards.push(buf);
  }
  if (cache && !fromCache) await dropOtherVersions(cache, urls, version);
  return { manifestText, shards, fromCache };
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

/** Model files already in memory: a manifest's text and its shards in manifest path order. */
export interface ModelFiles {
  manifestText: string;
  shards: ArrayBuffer[];
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
  const { onProgress = () => {}, fromCache } = options;
  const { shards, manifestText } = files;
  const manifest = validateManifest(JSON.parse(manifestText), source);
  const stored = shards.reduce((s, b) => s + b.byteLength, 0);
  const backend = await chooseBackend({
    preferred: options.backend ?? 'auto',
    measure: () => measurePrediction(manifest, shards),
    onStage: (message) => onProgress({ stage: 'backend', loaded: 0, total: 0, message, fromCache }),
  });
  onProgress({ stage: 'init', loaded: 0, total: 1, message: `building model on ${backend.name}`, fromCache });
  const loaded = modelFromArtifacts(manifest, shards);
  const predictor = new Predictor(loaded, backend, stored, options.engine ?? env.engine);
  onProgress({ stage: 'warmup', loaded: 0, total: 1, message: 'timing one prediction in plain JS', fromCache });
  await predictor.choosePredictEngine();
  onProgress({ stage: 'ready', loaded: 1, total: 1, message: `ready on ${backend.name}`, fromCache });
  return predictor;
}

export async function loadPredictor(modelUrl: string, options: PipelineOptions = {}): Promise<Predictor> {
  const { manifestText, shards, fromCache } = await fetchModelFiles(modelUrl, options);
  return loadPredictorFromFiles({ manifestText, shards }, modelUrl, { backend: options.backend, engine: options.engine, onProgress: options.onProgress, fromCache });
}

export { tf };
