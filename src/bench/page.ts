/**
 * Benchmark hooks for `npm run bench` (which drives this page in Chromium): model load time
 * through the app's own pipeline, and next-behavior latency on a forced backend.
 */
import { loadPredictor, MODEL_CACHE, tf, type BackendName } from '../model/pipeline';
import { fullContextQuery } from '../model/predictor';

export const MODEL_URL = `${import.meta.env.BASE_URL}models/behavegpt-us/model.json`;

async function clearModelCache(): Promise<void> {
  if (typeof caches !== 'undefined') await caches.delete(MODEL_CACHE);
}

async function load(backend: BackendName | 'auto'): Promise<{ ms: number; fromCache: boolean; backend: string; reason: string }> {
  let fromCache = false;
  const t0 = performance.now();
  const predictor = await loadPredictor(MODEL_URL, { backend, onProgress: (p) => (fromCache = p.fromCache ?? fromCache) });
  const ms = performance.now() - t0;
  const result = { ms, fromCache, backend: predictor.backend.name, reason: predictor.backend.reason };
  predictor.dispose();
  return result;
}

async function latency(backend: BackendName, runs: number, contextEvents: number): Promise<{ times: number[]; tensorsBefore: number; tensorsAfter: number; backend: string }> {
  const predictor = await loadPredictor(MODEL_URL, { backend });
  const { history, next } = fullContextQuery(predictor.summary.behaviors, contextEvents);
  for (let i = 0; i < 20; i++) await predictor.predictNext(history, next, 5);
  const tensorsBefore = tf.memory().numTensors;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await predictor.predictNext(history, next, 5);
    times.push(performance.now() - t0);
  }
  const tensorsAfter = tf.memory().numTensors;
  predictor.dispose();
  return { times, tensorsBefore, tensorsAfter, backend: tf.getBackend() };
}

declare global {
  interface Window {
    behavegptBench: { load: typeof load; latency: typeof latency; clearModelCache: typeof clearModelCache };
  }
}
window.behavegptBench = { load, latency, clearModelCache };
document.body.dataset.ready = 'true';
