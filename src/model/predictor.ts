/**
 * A loaded model ready to answer "what comes next": the object the app, the benchmarks and the
 * library's users hold (the public BehaviorModel, on the page).
 */
import { encodeQuery } from '../core/batch';
import { UNKNOWN_LOCATION, type BehaviorEvent, type EventContext } from '../core/events';
import { topK } from '../core/sampling';
import type {
  BackendChoice,
  BehaviorModel,
  ExplainOptions,
  GenerateEventsOptions,
  ModelFiles,
  ModelInfo,
  Prediction,
  PredictOptions,
  WhenOptions,
} from './pipeline-types';
import type { LoadedModel, ModelManifest } from './weights';
import { canGenerate, generateTrajectory, generationCorrection, type GeneratedEvent, type GenerationModel } from './generate';
import { Explainer, type Explanation, type WhenMap } from './explain';
import { DEFAULT_REMOVAL } from '../core/explain';

/** The figures a model file records per split (training.valid, .test, …: metric → number). */
function recordedMetrics(training: ModelManifest['training']): ModelInfo['metrics'] {
  const out: ModelInfo['metrics'] = {};
  for (const [key, value] of Object.entries(training)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const numbers = Object.entries(value).filter((e): e is [string, number] => typeof e[1] === 'number');
    if (numbers.length > 0 && numbers.length === Object.keys(value).length) out[key] = Object.fromEntries(numbers);
  }
  return out;
}

export class Predictor implements BehaviorModel {
  readonly info: ModelInfo;
  readonly backend: BackendChoice;
  private readonly loaded: LoadedModel;
  private readonly modelFiles: ModelFiles;
  private readonly exclude: Set<number>;
  private explainer: Promise<Explainer> | null = null;

  /** `files` are the ones `loaded` was built from (kept for fine-tuning, saving and export). */
  constructor(loaded: LoadedModel, backend: BackendChoice, files: ModelFiles) {
    this.loaded = loaded;
    this.backend = backend;
    this.modelFiles = files;
    const { manifest, behaviors, locations, model } = loaded;
    this.exclude = new Set(model.config.specialBehaviorIds);
    const quantized = manifest.weightsManifest.some((g) => g.weights.some((w) => w.quantization));
    this.info = {
      name: manifest.name,
      config: { ...model.config },
      parameters: model.parameterCount,
      weightBytes: files.shards.reduce((s, b) => s + b.byteLength, 0),
      quantization: quantized ? 'uint8' : 'float32',
      contextLength: model.config.contextLength,
      behaviors: behaviors.tokens.filter((_, i) => !behaviors.isSpecial(i)),
      locations: [...locations.tokens],
      canGenerate: canGenerate(model),
      metrics: recordedMetrics(manifest.training),
      training: manifest.training,
    };
  }

  async files(): Promise<ModelFiles> {
    return { manifestText: this.modelFiles.manifestText, shards: this.modelFiles.shards.map((s) => s.slice(0)) };
  }

  /** Full probability vector over the vocabulary for the event after `history`. */
  async probabilities(history: readonly BehaviorEvent[], next: EventContext): Promise<Float32Array> {
    const { model, behaviors, locations } = this.loaded;
    const { batch, position } = encodeQuery(history, next, behaviors, locations, model.config.contextLength);
    return model.probabilities(batch, [position]);
  }

  /** The k most likely next behaviors, most likely first. History longer than the context slides. */
  async predictNext(history: readonly BehaviorEvent[], next: EventContext, options: PredictOptions = {}): Promise<Prediction[]> {
    const { k = 5 } = options;
    const probs = await this.probabilities(history, next);
    return topK(probs, k, this.exclude).map((id) => ({ behavior: this.loaded.behaviors.name(id), probability: probs[id] }));
  }

  /** The plain-JS decoder the explanations run on, made on first use (it copies the weights once). */
  private getExplainer(): Promise<Explainer> {
    return (this.explainer ??= Explainer.create(this.loaded));
  }

  /**
   * Why: how much each event of the history (its last contextLength − 1 events) moves the
   * probability of `behavior` (default: the top-1) for an event at `next` (occlusion), with the
   * attention view. See model/explain.ts.
   */
  async explain(history: readonly BehaviorEvent[], next: EventContext, options: ExplainOptions = {}): Promise<Explanation> {
    const { behavior, removal = DEFAULT_REMOVAL } = options;
    const explainer = await this.getExplainer();
    const target = behavior ?? this.loaded.behaviors.name(topK(explainer.probabilities(history, next), 1, this.exclude)[0]);
    return explainer.explain(history, next, target, removal);
  }

  /**
   * When: P(next event is `behavior` | it happens in each weekday × slot cell), the top behavior
   * per cell, the time head's P(next event in the cell) and the joint with its top 5. The place
   * of the next event defaults to the last event's.
   */
  async when(history: readonly BehaviorEvent[], behavior: string, options: WhenOptions = {}): Promise<WhenMap> {
    const { location = history.at(-1)?.location ?? UNKNOWN_LOCATION } = options;
    return (await this.getExplainer()).when(history, behavior, location);
  }

  /** The model and vocabularies, for generation helpers such as the benchmarks' timeRollout. */
  get generationModel(): GenerationModel {
    return this.loaded;
  }

  /**
   * Streams a generated trajectory continuing `prefix` event by event (see model/generate.ts);
   * stop with options.signal or by leaving the loop. The model's own sampling correction (if its
   * manifest has one) applies unless options.behaviorLogCorrection replaces it.
   */
  generate(prefix: readonly BehaviorEvent[], options: GenerateEventsOptions): AsyncGenerator<GeneratedEvent> {
    return generateTrajectory(this.loaded, { behaviorLogCorrection: generationCorrection(this.loaded.manifest), ...options, prefix });
  }

  dispose(): void {
    this.loaded.model.dispose();
  }
}

/**
 * A synthetic full-context query for timing (backend warm-up and benchmarks): `events` events
 * cycling through the behaviors, weekdays and slots, and a fixed time for the next event.
 */
export function fullContextQuery(behaviorNames: readonly string[], events: number): { history: BehaviorEvent[]; next: EventContext } {
  const history = Array.from({ length: events }, (_, i) => ({
    behavior: behaviorNames[(i * 7) % behaviorNames.length],
    weekday: i % 7,
    slot: i % 8,
    location: UNKNOWN_LOCATION,
  }));
  return { history, next: { weekday: 4, slot: 6, location: UNKNOWN_LOCATION } };
}

/** Milliseconds per call, interleaved run by run (benchmarks in Node and in the browser share it). */
export interface ExplanationTimes {
  predict: number[];
  explain: number[];
  when: number[];
}

/**
 * Times next-behavior prediction, `explain` (influence of every event and attention) and `when`
 * (56-cell heatmap, time head, joint) on a synthetic history of `events` events, interleaved so
 * that load on the machine hits all three alike. Every run changes the history's first event, so
 * no run reuses the decoder's cache of the one before: the full cost of a new explanation.
 */
export async function timeExplanations(predictor: Predictor, events: number, runs: number, warmup = 10): Promise<ExplanationTimes> {
  const { history, next } = fullContextQuery(predictor.info.behaviors, events);
  const behaviors = predictor.info.behaviors;
  const times: ExplanationTimes = { predict: [], explain: [], when: [] };
  for (let r = -warmup; r < runs; r++) {
    const varied = [{ ...history[0], behavior: behaviors[(r + warmup) % behaviors.length] }, ...history.slice(1)];
    const t0 = performance.now();
    const [top] = await predictor.predictNext(varied, next, { k: 1 });
    const t1 = performance.now();
    await predictor.explain(varied, next, { behavior: top.behavior });
    const t2 = performance.now();
    // A fresh history again, so that `when` cannot reuse what `explain` left in the cache.
    await predictor.when([{ ...varied[0], slot: (varied[0].slot + 1) % 8 }, ...varied.slice(1)], top.behavior);
    const t3 = performance.now();
    if (r < 0) continue;
    times.predict.push(t1 - t0);
    times.explain.push(t2 - t1);
    times.when.push(t3 - t2);
  }
  return times;
}
