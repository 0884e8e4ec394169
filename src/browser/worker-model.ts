/**
 * A BehaviorModel whose model lives in a worker (model.worker.ts): the same API as a model on the
 * page, so a host page's main thread never runs TensorFlow.js. Calls are Comlink's typed calls;
 * generation is pulled from the worker in batches and streamed as an async iterator; the engine
 * choices the worker's model measures are copied back after the calls that may make them. The
 * worker's death (a crash, out of memory) rejects every call in flight and later ones, with a
 * message saying so, and aborting the load ends the worker.
 */
import * as Comlink from 'comlink';
import { whenAborted } from '../core/abort';
import type { BehaviorEvent, BehaviorSequence, EventContext } from '../core/events';
import type { Explanation, WhenMap } from '../model/explain';
import type { GeneratedEvent, TrajectoryEvent } from '../model/generate';
import type {
  BackendChoice,
  BehaviorModel,
  EngineChoices,
  ExplainOptions,
  GenerateEventsOptions,
  LoadModelOptions,
  LogScore,
  ModelFiles,
  ModelInfo,
  ModelSource,
  Prediction,
  PredictOptions,
  ScoreLogOptions,
  WhenOptions,
} from '../model/pipeline-types';
import type { ModelWorkerApi } from './model.worker';
import { reviveError } from './worker-errors';
import { isLifeMessage, lifeLockName, watchLife } from './worker-life';

/** Generated events asked for per pull (the worker also returns after ~30 ms of work). */
const EVENTS_PER_PULL = 64;
/** generateMany's steps asked for per pull (each up to `count` events; the same ~30 ms bound). */
const STEPS_PER_PULL = 64;

/** URLs resolved here: the worker's base URL is its script's, not the page's. */
function forWorker(source: ModelSource): ModelSource {
  if (typeof source === 'string' || source instanceof URL)
    return new URL(String(source), globalThis.location?.href).href;
  if (typeof FileList !== 'undefined' && source instanceof FileList) return Array.from(source);
  return source;
}

class WorkerModel implements BehaviorModel {
  /** Numbers generations and scorings alike: the worker's stop calls find a run by it. */
  private runCounter = 0;
  /**
   * The worker's engine choices as last read: `engines` must answer synchronously and return the
   * same object until they change (React's useSyncExternalStore compares by identity), so the
   * copy is replaced only when what the worker sent differs from it.
   */
  private choices: EngineChoices;
  private choicesKey: string;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly info: ModelInfo,
    readonly backend: BackendChoice,
    engines: EngineChoices,
    private readonly remote: Comlink.Remote<ModelWorkerApi>,
    /** Settles (rejects) when the worker is gone; every call races it. */
    private readonly gone: Promise<never>,
    private readonly end: () => void,
  ) {
    this.choices = engines;
    this.choicesKey = JSON.stringify(engines);
  }

  private call<T>(work: () => Promise<T>): Promise<T> {
    return Promise.race([work(), this.gone]).catch((e: unknown) => {
      throw reviveError(e);
    });
  }

  /** The engine chosen for each workload so far, as the worker last reported (a new object after every change). */
  get engines(): EngineChoices {
    return this.choices;
  }

  subscribeEngines(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Reads the worker's engine choices again. Plain data across postMessage is a new object every
   * time, so a change is told by content (the choices are small JSON-like records).
   */
  private async refreshEngines(): Promise<void> {
    let engines: EngineChoices;
    try {
      engines = await this.call(() => this.remote.engines());
    } catch {
      return; // the worker is gone or disposed: the last copy stays
    }
    const key = JSON.stringify(engines);
    if (key === this.choicesKey) return;
    this.choices = engines;
    this.choicesKey = key;
    for (const listener of this.listeners) listener();
  }

  /**
   * A call that may measure engines (the worker's model measures a workload the first time it
   * runs): the copy is refreshed before it settles, so `engines` is current when it does, even if
   * it failed (a measurement may have been made before).
   */
  private async measuring<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await this.call(work);
    } finally {
      await this.refreshEngines();
    }
  }

  /** The predict engine is chosen while the model loads, so a prediction costs one round trip, no engine refresh. */
  predictNext(history: readonly BehaviorEvent[], at: EventContext, options?: PredictOptions): Promise<Prediction[]> {
    return this.call(() => this.remote.predictNext(history, at, options));
  }

  /**
   * Scores in the worker. `signal` cannot cross to the worker: aborting rejects at once with its
   * reason and asks the worker to stop the run (stopScore, checked between batches); progress
   * comes through a callback proxy that the worker releases when the run ends, and none is passed
   * on after the call has settled.
   */
  async scoreLog(sequences: readonly BehaviorSequence[], options: ScoreLogOptions = {}): Promise<LogScore> {
    const { onProgress, signal, ...rest } = options;
    signal?.throwIfAborted();
    const id = ++this.runCounter;
    let settled = false;
    const progress =
      onProgress &&
      Comlink.proxy((done: number, total: number) => {
        if (!settled) onProgress(done, total);
      });
    const run = this.measuring(() => this.remote.scoreLog(id, sequences, rest, progress));
    const { aborted, off } = whenAborted(signal);
    const stop = () => void this.remote.stopScore(id).catch(() => {});
    signal?.addEventListener('abort', stop, { once: true });
    try {
      return await Promise.race([run, aborted]);
    } finally {
      settled = true;
      off();
      signal?.removeEventListener('abort', stop);
    }
  }

  explain(history: readonly BehaviorEvent[], at: EventContext, options?: ExplainOptions): Promise<Explanation> {
    return this.call(() => this.remote.explain(history, at, options));
  }

  when(history: readonly BehaviorEvent[], behavior: string, options?: WhenOptions): Promise<WhenMap> {
    return this.call(() => this.remote.when(history, behavior, options));
  }

  files(): Promise<ModelFiles> {
    return this.call(() => this.remote.files());
  }

  /**
   * A generation in the worker, streamed: started as `id`, then pulled in batches until it is
   * done; a signal or leaving the loop stops it in the worker. With `measureFirst`, the engine
   * choices are refreshed after the first pull (where the worker's model measures them).
   */
  private async *pulled<T>(
    signal: AbortSignal | undefined,
    start: (id: number) => Promise<void>,
    next: (id: number) => Promise<{ items: T[]; done: boolean }>,
    measureFirst = false,
  ): AsyncGenerator<T> {
    const id = ++this.runCounter;
    await this.call(() => start(id));
    const stop = () => void this.remote.stopGenerate(id).catch(() => {});
    signal?.addEventListener('abort', stop);
    let done = false;
    let first = true;
    try {
      while (!done && !signal?.aborted) {
        const batch = await (first && measureFirst ? this.measuring(() => next(id)) : this.call(() => next(id)));
        first = false;
        done = batch.done;
        for (const item of batch.items) {
          if (signal?.aborted) return;
          yield item;
        }
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      if (!done) stop(); // the loop was left early, or stopped: the worker stops generating
    }
  }

  generate(prefix: readonly BehaviorEvent[], options: GenerateEventsOptions): AsyncGenerator<GeneratedEvent> {
    const { signal, ...rest } = options;
    return this.pulled(
      signal,
      (id) => this.remote.startGenerate(id, prefix, rest),
      (id) => this.remote.nextEvents(id, EVENTS_PER_PULL),
    );
  }

  /**
   * Streamed as `generate` is, a step (the events of every trajectory still running) per item.
   * The engine is measured on the first pull (the worker's model times both before its first
   * step), so the copy of the engine choices is refreshed after that one.
   */
  generateMany(
    prefix: readonly BehaviorEvent[],
    count: number,
    options: GenerateEventsOptions,
  ): AsyncGenerator<TrajectoryEvent[]> {
    const { signal, ...rest } = options;
    return this.pulled(
      signal,
      (id) => this.remote.startGenerateMany(id, prefix, count, rest),
      (id) => this.remote.nextSteps(id, STEPS_PER_PULL),
      true,
    );
  }

  dispose(): void {
    this.listeners.clear();
    void this.remote.dispose().catch(() => {});
    this.end();
  }
}

/**
 * Loads a model into a worker of its own and returns it with the same API as `loadModel`'s (the
 * model's methods answer asynchronously from the worker). Options as `loadModel`'s; the
 * `onProgress` callback is called on this thread. Aborting the load ends the worker.
 */
export async function createWorkerModel(source: ModelSource, options: LoadModelOptions = {}): Promise<BehaviorModel> {
  const { onProgress, signal, ...rest } = options;
  signal?.throwIfAborted();
  const name = lifeLockName('behavegpt-model');
  const worker = new Worker(new URL('./model.worker.ts', import.meta.url), { type: 'module', name });
  let stopWatching = () => {};
  let died: (e: Error) => void = () => {};
  const gone = new Promise<never>((_, reject) => {
    died = reject;
  });
  gone.catch(() => {}); // observed by the calls that race it
  const end = () => {
    stopWatching();
    worker.terminate();
    died(new Error('the model worker was disposed'));
  };
  worker.addEventListener('message', (event: MessageEvent<unknown>) => {
    if (isLifeMessage(event.data))
      stopWatching = watchLife(name, () => died(new Error('the model worker stopped unexpectedly (out of memory?)')));
  });
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    died(new Error(`the model worker failed: ${event.message || 'unknown error'}`));
  });
  const remote = Comlink.wrap<ModelWorkerApi>(worker);
  const { aborted, off } = whenAborted(signal);
  try {
    const loaded = await Promise.race([
      remote.load(forWorker(source), rest, onProgress && Comlink.proxy(onProgress)),
      gone,
      aborted,
    ]);
    return new WorkerModel(loaded.info, loaded.backend, loaded.engines, remote, gone, end);
  } catch (e) {
    end();
    throw reviveError(e);
  } finally {
    off();
  }
}
