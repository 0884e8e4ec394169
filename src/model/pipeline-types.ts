/**
 * The public contract of the prediction pipeline (transformers.js style: one call loads a model
 * with progress events; backends and caching live behind it). What src/lib/index.ts exports as
 * types comes from here: plain data and one interface, `BehaviorModel`, that a model on the page
 * (Predictor) and a model in a worker (createWorkerModel) both implement.
 */
import type { Removal } from '../core/explain';
import type { BehaviorEvent, BehaviorSequence, EventContext } from '../core/events';
import type { BehaveGPTConfig } from './behavegpt';
import type { Explanation, WhenMap } from './explain';
import type { GeneratedEvent, GenerateOptions, TrajectoryEvent } from './generate';
import type { EngineChoice, EngineName, Workload } from './workloads';

export type BackendName = 'webgpu' | 'wasm' | 'webgl' | 'cpu';

export interface LoadProgress {
  stage: 'backend' | 'download' | 'init' | 'warmup' | 'ready';
  /** Bytes (download) or steps (other stages) done / total; total 0 when unknown. */
  loaded: number;
  total: number;
  message: string;
  /** True when the model files came from the Cache API instead of the network. */
  fromCache?: boolean;
  /** Something the person should know about this load, e.g. why the copy kept in this browser is used. */
  notice?: string;
}

export interface BackendChoice {
  name: BackendName;
  /** Human-readable reason, e.g. "WebGPU adapter is a software fallback (SwiftShader); wasm was faster: 1.9 ms vs 41 ms". */
  reason: string;
  /** Median warm-up latency per backend tried, in ms. */
  measuredMs: Partial<Record<BackendName, number>>;
}

export interface Prediction {
  behavior: string;
  probability: number;
}

/** What a loaded model is: its name, architecture, vocabularies, size and recorded figures. */
export interface ModelInfo {
  name: string;
  config: BehaveGPTConfig;
  parameters: number;
  /** Bytes of the weight shards as stored (int8 or float32). */
  weightBytes: number;
  quantization: 'uint8' | 'float32';
  contextLength: number;
  /** The behaviors it predicts (its vocabulary without the special tokens). */
  behaviors: string[];
  locations: string[];
  /** Whether it has the time head that `generate` and the time part of `when` need. */
  canGenerate: boolean;
  /** Figures recorded in the model file at training time (e.g. `test`, `valid`: metric → value); empty when none. */
  metrics: Record<string, Record<string, number>>;
  /** Everything the model file records about its training (data, objective, seed, steps, …). */
  training: Record<string, unknown>;
}

/** Model files in memory: a manifest's text (model.json) and its weight shards in manifest path order. */
export interface ModelFiles {
  manifestText: string;
  shards: ArrayBuffer[];
  /** What errors call these files (default "model files in memory"), e.g. where they were kept. */
  name?: string;
}

/**
 * What `loadModel` loads: the URL of a model.json (its shards beside it), the files a person
 * picked (model.json and its shards, e.g. an `<input type=file multiple>`'s FileList), or model
 * files in memory (the manifest as text or as the parsed object, with its shards).
 */
export type ModelSource =
  | string
  | URL
  | readonly File[]
  | FileList
  | ModelFiles
  | { manifest: object; shards: ArrayBuffer[] };

export interface LoadModelOptions {
  /** 'auto' (default) chooses by capability and a timed prediction; a name forces that backend or fails with BackendUnavailableError. */
  backend?: BackendName | 'auto';
  /**
   * 'auto' (default: env.engine) measures the plain-JS decoder against tfjs for each workload (one
   * prediction, scoring a log, several trajectories) and keeps the faster; 'js' or 'tfjs' forces one.
   */
  engine?: EngineName | 'auto';
  /** Keep downloaded model files in the Cache API and use them offline (default: env.useBrowserCache). URL sources only. */
  cache?: boolean;
  /** Loading progress: stage, bytes or steps, a message a UI can show. */
  onProgress?: (p: LoadProgress) => void;
  /** Stops the load; it rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface PredictOptions {
  /** How many behaviors, most likely first (default 5). */
  k?: number;
}

export interface ExplainOptions {
  /** The behavior to explain (default: the most likely one). */
  behavior?: string;
  /** How an event is taken out for the occlusion test (default 'drop'). */
  removal?: Removal;
}

export interface WhenOptions {
  /** Where the next event happens (default: the last event's location). */
  location?: string;
}

/** Options of `generate`: everything but the prefix, which is its first argument. */
export type GenerateEventsOptions = Omit<GenerateOptions, 'prefix'>;

/** The metrics of `npm run evaluate` for a whole log: loss and ranking metrics, all targets and without refresh events. */
export interface LogScore {
  sequences: number;
  /** Targets scored (every position t ≥ 1 of every sequence). */
  targets: number;
  all: Record<string, number>;
  noRefresh: Record<string, number>;
  seconds: number;
  /** The engine that scored it, and why. */
  engine: EngineChoice;
}

export interface ScoreLogOptions {
  /** Windows per batch (default 64). */
  batchSize?: number;
  /** Positions scored so far, of all. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** The engine chosen for each workload so far (a workload is measured the first time it runs). */
export type EngineChoices = Readonly<Partial<Record<Workload, EngineChoice>>>;

/**
 * A loaded BehaveGPT model: what `loadModel` and `createWorkerModel` return. Events are
 * `{ behavior, weekday (0–6, Monday 0), slot (0–7, 3-hour bins), location }`.
 */
export interface BehaviorModel {
  readonly info: ModelInfo;
  /** The backend it runs on, and why it was chosen. */
  readonly backend: BackendChoice;
  /** The k most likely next behaviors after `history`, for an event at `at`, with their probabilities. */
  predictNext(history: readonly BehaviorEvent[], at: EventContext, options?: PredictOptions): Promise<Prediction[]>;
  /**
   * A trajectory continuing `prefix`, event by event as it is sampled (timed: weekday and slot of
   * each). Stop with `options.signal` or by leaving the loop.
   */
  generate(prefix: readonly BehaviorEvent[], options: GenerateEventsOptions): AsyncGenerator<GeneratedEvent>;
  /**
   * `count` trajectories continuing `prefix`, sampled together step by step (trajectory k with
   * seed + k): each step yields the events of every trajectory still running.
   */
  generateMany(
    prefix: readonly BehaviorEvent[],
    count: number,
    options: GenerateEventsOptions,
  ): AsyncGenerator<TrajectoryEvent[]>;
  /** Ranks every position of a log (the protocol of `npm run evaluate`): its loss and metrics. */
  scoreLog(sequences: readonly BehaviorSequence[], options?: ScoreLogOptions): Promise<LogScore>;
  /**
   * Which engine (plain-JS decoder or tfjs) runs each workload and why: measured the first time
   * the workload runs, or forced with `engine`. A new object after every change.
   */
  readonly engines: EngineChoices;
  /** Calls `listener` whenever `engines` changes; returns the unsubscribe function. */
  subscribeEngines(listener: () => void): () => void;
  /** Why: how much each event of the history moves the probability of a behavior (occlusion), with the attention view. */
  explain(history: readonly BehaviorEvent[], at: EventContext, options?: ExplainOptions): Promise<Explanation>;
  /** When: P(next event is `behavior` | it happens in each weekday × slot cell), the time forecast and the joint. */
  when(history: readonly BehaviorEvent[], behavior: string, options?: WhenOptions): Promise<WhenMap>;
  /** The model's files (manifest text and shards): what fine-tuning adapts, what saving and exporting write. */
  files(): Promise<ModelFiles>;
  /** Frees the model's memory (GPU or wasm); the object cannot be used afterwards. */
  dispose(): void;
}
