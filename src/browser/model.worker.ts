/**
 * The model worker behind createWorkerModel (worker-model.ts): one model, loaded and run here so
 * that the page's thread never waits on TensorFlow.js. Its API is a plain object exposed with
 * Comlink (typed calls, no message protocol of our own); generation streams in batches that the
 * page pulls. Errors keep their type's name and fields across the boundary (worker-errors.ts).
 */
/// <reference lib="webworker" />
import * as Comlink from 'comlink';
import type { BehaviorEvent, EventContext } from '../core/events';
import type { GeneratedEvent } from '../model/generate';
import { loadPredictor, type Predictor } from '../model/pipeline';
import type {
  ExplainOptions,
  GenerateEventsOptions,
  LoadModelOptions,
  ModelSource,
  PredictOptions,
  WhenOptions,
} from '../model/pipeline-types';
import { exposeErrorFields } from './worker-errors';
import { holdLifeLock } from './worker-life';

declare const self: DedicatedWorkerGlobalScope;

/** Longest a pull of generated events runs before it returns what it has, ms. */
const PULL_MS = 30;

let model: Predictor | null = null;
const generations = new Map<number, { events: AsyncGenerator<GeneratedEvent>; controller: AbortController }>();

function loaded(): Predictor {
  if (!model) throw new Error('the worker model is not loaded (or was disposed)');
  return model;
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
      (onProgress as unknown as Partial<Comlink.ProxyMarked> & { [Comlink.releaseProxy]?: () => void })?.[
        Comlink.releaseProxy
      ]?.();
    }
    return { info: model.info, backend: model.backend };
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
  /** Starts generation `id`; its events come with nextEvents. */
  startGenerate(id: number, prefix: readonly BehaviorEvent[], options: Omit<GenerateEventsOptions, 'signal'>) {
    const controller = new AbortController();
    generations.set(id, { events: loaded().generate(prefix, { ...options, signal: controller.signal }), controller });
  },
  /** The next events of generation `id`: at least one unless it is done, at most `max`, for at most PULL_MS. */
  async nextEvents(id: number, max: number): Promise<{ events: GeneratedEvent[]; done: boolean }> {
    const generation = generations.get(id);
    if (!generation) return { events: [], done: true };
    const events: GeneratedEvent[] = [];
    const t0 = performance.now();
    try {
      while (events.length < max && (events.length === 0 || performance.now() - t0 < PULL_MS)) {
        const step = await generation.events.next();
        if (step.done) {
          generations.delete(id);
          return { events, done: true };
        }
        events.push(step.value);
      }
    } catch (e) {
      generations.delete(id);
      throw e;
    }
    return { events, done: false };
  },
  stopGenerate(id: number) {
    const generation = generations.get(id);
    generations.delete(id);
    generation?.controller.abort();
    void generation?.events.return(undefined);
  },
  dispose() {
    for (const id of [...generations.keys()]) api.stopGenerate(id);
    model?.dispose();
    model = null;
  },
};

export type ModelWorkerApi = typeof api;

exposeErrorFields();
holdLifeLock(self);
Comlink.expose(api);
