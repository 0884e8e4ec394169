/**
 * Benchmark hooks for `npm run bench` (which drives this page in Chromium): model load time
 * through the app's own pipeline, next-behavior latency on a forced backend, explanation
 * latency, and fine-tuning throughput in the app's own fine-tune worker.
 */
import { parseBehaviorLog } from '../core/data';
import { UNKNOWN_LOCATION, type BehaviorEvent, type BehaviorSequence, type EventContext } from '../core/events';
import { splitForFinetune } from '../core/finetune';
import { createRng } from '../core/random';
import { gunzipResponse } from '../browser/behavior-logs';
import { dataFileUrl, env } from '../env';
import { fetchModelFiles, loadPredictor, tf, type BackendName, type Prediction } from '../model/pipeline';
import { fullContextQuery, timeExplanations, type ExplanationTimes } from '../model/predictor';
import { timeRollout } from '../model/generate';
import {
  buildStartMessage,
  DEFAULT_FINETUNE_SETTINGS,
  type FinetuneSettings,
  type FromWorker,
} from '../train/finetune-protocol';

async function clearModelCache(): Promise<void> {
  if (typeof caches !== 'undefined') await caches.delete(env.cacheName);
}

async function load(
  backend: BackendName | 'auto',
): Promise<{ ms: number; fromCache: boolean; backend: string; reason: string }> {
  let fromCache = false;
  const t0 = performance.now();
  const predictor = await loadPredictor(env.modelUrl, {
    backend,
    onProgress: (p) => (fromCache = p.fromCache ?? fromCache),
  });
  const ms = performance.now() - t0;
  const result = { ms, fromCache, backend: predictor.backend.name, reason: predictor.backend.reason };
  predictor.dispose();
  return result;
}

/** Next-behavior latency through the app's Predictor on a forced backend, on tfjs (engine 'tfjs') or on the engine it measures fastest ('auto'). */
async function latency(
  backend: BackendName,
  runs: number,
  contextEvents: number,
  engine: 'tfjs' | 'auto' = 'tfjs',
): Promise<{ times: number[]; tensorsBefore: number; tensorsAfter: number; backend: string; engine: string }> {
  const predictor = await loadPredictor(env.modelUrl, { backend, engine });
  const { history, next } = fullContextQuery(predictor.info.behaviors, contextEvents);
  for (let i = 0; i < 20; i++) await predictor.predictNext(history, next, { k: 5 });
  const tensorsBefore = tf.memory().numTensors;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await predictor.predictNext(history, next);
    times.push(performance.now() - t0);
  }
  const tensorsAfter = tf.memory().numTensors;
  const used = predictor.engines.predict?.engine ?? 'tfjs';
  predictor.dispose();
  return { times, tensorsBefore, tensorsAfter, backend: tf.getBackend(), engine: used };
}

/**
 * Rollouts of each length with and without the key/value cache on a forced backend: ms per
 * rollout, keyed "events-cache". `skipRecomputeAt` leaves out the recompute rollout of that length.
 */
async function generation(
  backend: BackendName,
  lengths: number[],
  repetitions: number,
  skipRecomputeAt: number,
): Promise<Record<string, number[]>> {
  const predictor = await loadPredictor(env.modelUrl, { backend });
  if (!predictor.info.canGenerate) throw new Error('the model has no time head');
  const { history } = fullContextQuery(predictor.info.behaviors, 8);
  const loaded = predictor.generationModel;
  await timeRollout(loaded, history, 32, true, 99);
  const out: Record<string, number[]> = {};
  for (const events of lengths)
    for (const cache of [true, false]) {
      if (!cache && events === skipRecomputeAt) continue;
      out[`${events}-${cache}`] = [];
      for (let r = 0; r < repetitions; r++)
        out[`${events}-${cache}`].push(await timeRollout(loaded, history, events, cache, r));
    }
  predictor.dispose();
  return out;
}

/** A query of the library-vs-app comparison: a history and the time of the event to predict. */
export interface ParityQuery {
  history: BehaviorEvent[];
  next: EventContext;
}

/** The app's top-k for each query (its own pipeline on a forced backend): what the library's must equal. */
async function predictMany(backend: BackendName, queries: ParityQuery[], k: number): Promise<Prediction[][]> {
  const predictor = await loadPredictor(env.modelUrl, { backend });
  try {
    const out: Prediction[][] = [];
    for (const q of queries) out.push(await predictor.predictNext(q.history, q.next, { k }));
    return out;
  } finally {
    predictor.dispose();
  }
}

/** Explanations (why and when) interleaved with predictions on a forced backend: ms per call. */
async function explanations(
  backend: BackendName,
  runs: number,
  contextEvents: number,
): Promise<{ times: ExplanationTimes; backend: string }> {
  const predictor = await loadPredictor(env.modelUrl, { backend });
  try {
    return { times: await timeExplanations(predictor, contextEvents, runs), backend: tf.getBackend() };
  } finally {
    predictor.dispose();
  }
}

/** Where the fine-tuning data comes from: SmartThings Spain from the data folder (read now, via the data route), else synthetic. */
const FINETUNE_DATA_FILE = 'sp.csv.gz';

/** Synthetic sequences over the model's behaviors (seeded): used when the data folder is absent. */
function syntheticSequences(behaviors: readonly string[], count: number, length = 12): BehaviorSequence[] {
  const rng = createRng(1);
  return Array.from({ length: count }, (_, s) => {
    const weekday = Math.floor(rng() * 7);
    let slot = Math.floor(rng() * 8);
    return {
      id: `synthetic-${s}`,
      events: Array.from({ length }, () => {
        if (rng() < 0.2) slot = (slot + 1) % 8;
        return { behavior: behaviors[Math.floor(rng() * behaviors.length)], weekday, slot, location: UNKNOWN_LOCATION };
      }),
    };
  });
}

/**
 * The first sequences of the data (file order) whose train part, split as the app splits, holds
 * at least `trainEvents` events: the run's one epoch is over about that many events.
 */
function takeForTrainEvents(
  all: readonly BehaviorSequence[],
  trainEvents: number,
  settings: FinetuneSettings,
): BehaviorSequence[] {
  const events = (seqs: readonly BehaviorSequence[]) => seqs.reduce((n, s) => n + s.events.length, 0);
  const share = 1 - settings.heldOutFraction - settings.validationFraction;
  let k = 1;
  for (let total = 0; k < all.length && total < trainEvents / share; k++) total += all[k - 1].events.length;
  for (; k <= all.length; k += 5) {
    const picked = all.slice(0, k);
    if (events(splitForFinetune(picked, settings).train) >= trainEvents) return picked;
  }
  throw new Error(`the data holds too few events for a ${trainEvents}-event train part`);
}

async function finetuneData(
  behaviors: readonly string[],
  trainEvents: number,
  settings: FinetuneSettings,
): Promise<{ name: string; sequences: BehaviorSequence[] }> {
  const res = await fetch(dataFileUrl(FINETUNE_DATA_FILE));
  if (res.ok) {
    const log = parseBehaviorLog(await gunzipResponse(res), FINETUNE_DATA_FILE);
    return {
      name: 'SmartThings Spain (data folder)',
      sequences: takeForTrainEvents(log.sequences, trainEvents, settings),
    };
  }
  const count = Math.ceil(trainEvents / 12 / (1 - settings.heldOutFraction - settings.validationFraction)) + 20;
  return {
    name: 'synthetic (no data folder)',
    sequences: takeForTrainEvents(syntheticSequences(behaviors, count), trainEvents, settings),
  };
}

export interface FinetuneBenchRun {
  backend: string;
  reason: string;
  data: string;
  trainSequences: number;
  trainEvents: number;
  /** Optimizer steps run, of the epoch's total. */
  steps: number;
  totalSteps: number;
  /** Training time of the steps run, measured in the worker (no evaluation). */
  seconds: number;
  /** Train events per second (a capped run: the share of the epoch's events its steps covered). */
  eventsPerSecond: number;
  tokensPerSecond: number;
  /** Stopped (cancelled) after maxSeconds before the epoch ended. */
  capped: boolean;
}

/**
 * One epoch of fine-tuning in the app's fine-tune worker (the same module the Fine-tune tab
 * starts, the same request builder) on a forced backend, over about `trainEvents` train events.
 * The run is timed from the worker's own step progress; after the epoch's last step (or after
 * `maxSeconds` of training, then cancelled) the worker is ended: saving is not timed.
 */
async function finetune(backend: BackendName, trainEvents: number, maxSeconds: number): Promise<FinetuneBenchRun> {
  // One epoch of the app's schedule (no minimum steps: this measures throughput).
  const settings: FinetuneSettings = {
    ...DEFAULT_FINETUNE_SETTINGS,
    maxEpochs: 1,
    schedule: { ...DEFAULT_FINETUNE_SETTINGS.schedule, minSteps: 0 },
    backend,
  };
  const base = await fetchModelFiles(env.modelUrl);
  const behaviors = (JSON.parse(base.manifestText).vocabulary.behaviors.tokens as string[]).filter((b) =>
    b.includes(':'),
  );
  const data = await finetuneData(behaviors, trainEvents, settings);
  const request = buildStartMessage({
    runId: 1,
    base: { manifestText: base.manifestText, shards: base.shards },
    data,
    settings,
  });
  const events = request.split.train.reduce((n, s) => n + s.events.length, 0);
  const worker = new Worker(new URL('../browser/finetune.worker.ts', import.meta.url), { type: 'module' });
  try {
    return await new Promise<FinetuneBenchRun>((resolve, reject) => {
      let chosen = { name: backend as string, reason: '' };
      let last: { step: number; totalSteps: number; seconds: number; tokensPerSecond: number } | null = null;
      let capped = false;
      const finish = () => {
        if (!last) return reject(new Error('no training step was reported'));
        const covered = capped ? (events * last.step) / last.totalSteps : events;
        resolve({
          backend: chosen.name,
          reason: chosen.reason,
          data: data.name,
          trainSequences: request.split.train.length,
          trainEvents: events,
          steps: last.step,
          totalSteps: last.totalSteps,
          seconds: last.seconds,
          eventsPerSecond: covered / last.seconds,
          tokensPerSecond: last.tokensPerSecond,
          capped,
        });
      };
      worker.onerror = (e) => reject(new Error(`fine-tune worker: ${e.message}`));
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        const m = event.data;
        if (m.type === 'backend') chosen = { name: m.backend.name, reason: m.backend.reason };
        else if (m.type === 'error') reject(new Error(m.message));
        else if (m.type === 'cancelled') finish();
        else if (m.type === 'progress' && m.progress.kind === 'step') {
          const p = m.progress;
          last = {
            step: p.step,
            totalSteps: p.totalSteps,
            seconds: p.step / p.stepsPerSecond,
            tokensPerSecond: p.tokensPerSecond,
          };
          if (p.step === p.totalSteps) finish();
          else if (!capped && last.seconds > maxSeconds) {
            capped = true;
            worker.postMessage({ type: 'cancel', runId: 1 });
          }
        }
      };
      worker.postMessage(request, request.base.shards);
    });
  } finally {
    worker.terminate();
  }
}

/** The engine comparison (bench/engines.ts), loaded only when measured: it brings ONNX Runtime Web. */
const engines = {
  setup: async (options: import('./engines').SetupOptions) => (await import('./engines')).setup(options),
  runOnce: async (engine: string, input: string) => (await import('./engines')).runOnce(engine, input),
  adapterInfo: async () => (await import('./engines')).adapterInfo(),
};

declare global {
  interface Window {
    behavegptBench: {
      engines: typeof engines;
      load: typeof load;
      latency: typeof latency;
      clearModelCache: typeof clearModelCache;
      finetune: typeof finetune;
      generation: typeof generation;
      explanations: typeof explanations;
      predictMany: typeof predictMany;
    };
  }
}
window.behavegptBench = { load, latency, clearModelCache, finetune, generation, explanations, engines, predictMany };
document.body.dataset.ready = 'true';
