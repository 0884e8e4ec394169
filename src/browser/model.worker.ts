/**
 * The model worker behind createWorkerModel (worker-model.ts): one model, loaded and run here so
 * that the page's thread never waits on TensorFlow.js. Its API is a plain object exposed with
 * Comlink (typed calls, no message protocol of our own); generation streams in batches that the
 * page pulls. Errors keep their type's name and fields across the boundary (worker-errors.ts).
 */
/// <reference lib="webworker" />
import * as Comlink from 'comlink';
import type { BehaviorEvent, BehaviorSequence, EventContext } from '../core/events';
import type { GeneratedEvent, TrajectoryEvent } from '../model/generate';
import { loadPredictor, type Predictor } from '../model/pipeline';
import type {
  ExplainOptions,
  GenerateEventsOptions,
  LoadModelOptions,
  ModelSource,
  PredictOptions,
  ScoreLogOptions,
  WhenOptions,
} from '../model/pipeline-types';
import { exposeErrorFields } from './worker-errors';
import { holdLifeLock } from './worker-life';

declare const self: DedicatedWorkerGlobalScope;

/** Longest a pull of generated events runs before it returns what it has, ms. */
const PULL_MS = 30;

/** A generation in progress: what the page pulls from, and what stops it. */
interface Stream<T> {
  items: AsyncGenerator<T>;
  controller: AbortController;
}

let model: Predictor | null = null;
const generations = new Map<number, Stream<GeneratedEvent>>();
/** generateMany's streams: one item per step, the events of every trajectory still running. */
const trajectories = new Map<number, Stream<TrajectoryEvent[]>>();
/** Logs being scored, by the page's id: an AbortSignal cannot cross postMessage, so stopScore aborts here. */
const scorings = new Map<number, AbortController>();

function loaded(): Predictor {
  if (!model) throw new Error('the worker model is not loaded (or was disposed)');
  return model;
}

/** Lets the page close its end of a callback proxy once the call that used it is over. */
function release(callback: unknown): void {
  (callback as Partial<Comlink.ProxyMarked> & { [Comlink.releaseProxy]?: () => void })?.[Comlink.releaseProxy]?.();
}

function startStream<T>(streams: Map<number, Stream<T>>, id: number, make: (signal: AbortSignal) => AsyncGenerator<T>) {
  const controller = new AbortController();
  streams.set(id, { items: make(controller.signal), controller });
}

/** The next items of stream `id`: at least one unless it is done, at most `max`, for at most PULL_MS. */
async function pull<T>(
  streams: Map<number, Stream<T>>,
  id: number,
  max: number,
): Promise<{ items: T[]; done: boolean }> {
  const stream = streams.get(id);
  if (!stream) return { items: [], done: true };
  const items: T[] = [];
  const t0 = performance.now();
  try {
    while (items.length < max && (items.length === 0 || performance.now() - t0 < PULL_MS)) {
      const step = await stream.items.next();
      if (step.done) {
        streams.delete(id);
        return { items, done: true };
      }
      items.push(step.value);
    }
  } catch (e) {
    streams.delete(id);
    throw e;
  }
  return { items, done: false };
}

function stopStream<T>(streams: Map<number, Stream<T>>, id: number): void {
  const stream = streams.get(id);
  streams.delete(id);
  stream?.controller.abort();
  void stream?.items.return(undefined);
}

const api = {
  async load(
    source: ModelSource,
    options: Omit<LoadModelOptions, 'signal' | 'onProgress'>,
    onProgress?: LoadModelOptions['onProgress'],
  ) {
    model?.dispose();
    model = null;
    try {
      model = await loadPredictor(source, { ...options, onProgress: onProgress && ((p) => void onProgress(p)) });
    } finally {
      release(onProgress);
    }
    return { info: model.info, backend: model.backend, engines: model.engines };
  },
  /** The engine choices the model has made so far (the page keeps a copy; see WorkerModel.engines). */
  engines() {
    return loaded().engines;
  },
  predictNext(history: readonly BehaviorEvent[], at: EventContext, options?: PredictOptions) {
    return loaded().predictNext(history, at, options);
  },
  explain(history: readonly BehaviorEvent[], at: EventContext, options?: ExplainOptions) {
    return loaded().explain(history, at, options);
  },
  when(history: readonly BehaviorEvent[], behavior: string, options?: WhenOptions) {
    return loaded().when(history, behavior, options);
  },
  async files() {
    const files = await loaded().files();
    return Comlink.transfer(files, files.shards);
  },
  /** Scores a log as scoring `id`, which stopScore stops; progress goes to the page's proxied callback. */
  async scoreLog(
    id: number,
    sequences: readonly BehaviorSequence[],
    options: Omit<ScoreLogOptions, 'signal' | 'onProgress'>,
    onProgress?: ScoreLogOptions['onProgress'],
  ) {
    const controller = new AbortController();
    scorings.set(id, controller);
    try {
      return await loaded().scoreLog(sequences, {
        ...options,
        signal: controller.signal,
        onProgress: onProgress && ((done, total) => void onProgress(done, total)),
      });
    } finally {
      scorings.delete(id);
      release(onProgress);
    }
  },
  stopScore(id: number) {
    scorings.get(id)?.abort();
    scorings.delete(id);
  },
  /** Starts generation `id`; its events come with nextEvents. */
  startGenerate(id: number, prefix: readonly BehaviorEvent[], options: Omit<GenerateEventsOptions, 'signal'>) {
    startStream(generations, id, (signal) => loaded().generate(prefix, { ...options, signal }));
  },
  /** The next events of generation `id`: at least one unless it is done, at most `max`, for at most PULL_MS. */
  nextEvents(id: number, max: number): Promise<{ items: GeneratedEvent[]; done: boolean }> {
    return pull(generations, id, max);
  },
  /** Starts generation `id` of `count` trajectories together; its steps come with nextSteps. */
  startGenerateMany(
    id: number,
    prefix: readonly BehaviorEvent[],
    count: number,
    options: Omit<GenerateEventsOptions, 'signal'>,
  ) {
    startStream(trajectories, id, (signal) => loaded().generateMany(prefix, count, { ...options, signal }));
  },
  /** The next steps of generation `id` (each the events of every trajectory still running), as nextEvents. */
  nextSteps(id: number, max: number): Promise<{ items: TrajectoryEvent[][]; done: boolean }> {
    return pull(trajectories, id, max);
  },
  /** Stops generation `id`, of either kind (the page numbers both from one counter). */
  stopGenerate(id: number) {
    stopStream(generations, id);
    stopStream(trajectories, id);
  },
  dispose() {
    for (const id of [...generations.keys(), ...trajectories.keys()]) api.stopGenerate(id);
    for (const id of [...scorings.keys()]) api.stopScore(id);
    model?.dispose();
    model = null;
  },
};

export type ModelWorkerApi = typeof api;

exposeErrorFields();
holdLifeLock(self);
Comlink.expose(api);
