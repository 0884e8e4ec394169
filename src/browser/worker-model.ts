/**
 * A BehaviorModel whose model lives in a worker (model.worker.ts): the same API as a model on the
 * page, so a host page's main thread never runs TensorFlow.js. Calls are Comlink's typed calls;
 * generation is pulled from the worker in batches and streamed as an async iterator. The worker's
 * death (a crash, out of memory) rejects every call in flight and later ones, with a message
 * saying so, and aborting the load ends the worker.
 */
import * as Comlink from 'comlink';
import type { BehaviorEvent, EventContext } from '../core/events';
import type { Explanation, WhenMap } from '../model/explain';
import type { GeneratedEvent } from '../model/generate';
import type {
  BackendChoice,
  BehaviorModel,
  ExplainOptions,
  GenerateEventsOptions,
  LoadModelOptions,
  ModelFiles,
  ModelInfo,
  ModelSource,
  Prediction,
  PredictOptions,
  WhenOptions,
} from '../model/pipeline-types';
import type { ModelWorkerApi } from './model.worker';
import { reviveError } from './worker-errors';
import { isLifeMessage, lifeLockName, watchLife } from './worker-life';

/** Generated events asked for per pull (the worker also returns after ~30 ms of work). */
const EVENTS_PER_PULL = 64;

/** URLs resolved here: the worker's base URL is its script's, not the page's. */
function forWorker(source: ModelSource): ModelSource {
  if (typeof source === 'string' || source instanceof URL)
    return new URL(String(source), globalThis.location?.href).href;
  if (typeof FileList !== 'undefined' && source instanceof FileList) return Array.from(source);
  return source;
}

class WorkerModel implements BehaviorModel {
  private generationCounter = 0;

  constructor(
    readonly info: ModelInfo,
    readonly backend: BackendChoice,
    private readonly remote: Comlink.Remote<ModelWorkerApi>,
    /** Settles (rejects) when the worker is gone; every call races it. */
    private readonly gone: Promise<never>,
    private readonly end: () => void,
  ) {}

  private call<T>(work: () => Promise<T>): Promise<T> {
    return Promise.race([work(), this.gone]).catch((e: unknown) => {
      throw reviveError(e);
    });
  }

  predictNext(history: readonly BehaviorEvent[], at: EventContext, options?: PredictOptions): Promise<Prediction[]> {
    return this.call(() => this.remote.predictNext(history, at, options));
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

  async *generate(prefix: readonly BehaviorEvent[], options: GenerateEventsOptions): AsyncGenerator<GeneratedEvent> {
    const { signal, ...rest } = options;
    const id = ++this.generationCounter;
    await this.call(() => this.remote.startGenerate(id, prefix, rest));
    const stop = () => void this.remote.stopGenerate(id).catch(() => {});
    signal?.addEventListener('abort', stop);
    let done = false;
    try {
      while (!done && !signal?.aborted) {
        const batch = await this.call(() => this.remote.nextEvents(id, EVENTS_PER_PULL));
        done = batch.done;
        for (const event of batch.events) {
          if (signal?.aborted) return;
          yield event;
        }
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      if (!done) stop(); // the loop was left early, or stopped: the worker stops generating
    }
  }

  dispose(): void {
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
  let abort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    abort = () => reject(signal!.reason);
  });
  aborted.catch(() => {});
  signal?.addEventListener('abort', abort);
  try {
    const loaded = await Promise.race([
      remote.load(forWorker(source), rest, onProgress && Comlink.proxy(onProgress)),
      gone,
      aborted,
    ]);
    return new WorkerModel(loaded.info, loaded.backend, remote, gone, end);
  } catch (e) {
    end();
    throw reviveError(e);
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}
