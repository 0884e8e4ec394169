/**
 * A loaded model ready to answer "what comes next": the object the app, the benchmarks and the
 * library's users hold (the public BehaviorModel, on the page), plus what the app's engine
 * choices use (engines per workload, scoring a log, several trajectories at once).
 */
import { encodeBatch, encodeQuery, toExamples, type Batch } from '../core/batch';
import {
  isRefresh,
  UNKNOWN_LOCATION,
  type BehaviorEvent,
  type BehaviorSequence,
  type EventContext,
} from '../core/events';
import { rankingMetrics } from '../core/metrics';
import { topK } from '../core/sampling';
import type {
  BackendChoice,
  BehaviorModel,
  ExplainOptions,
  EngineChoices,
  GenerateEventsOptions,
  LogScore,
  ModelFiles,
  ModelInfo,
  Prediction,
  PredictOptions,
  ScoreLogOptions,
  WhenOptions,
} from './pipeline-types';
import type { LoadedModel, ModelManifest } from './weights';
import { CpuDecoder } from './cpu-decoder';
import {
  canGenerate,
  generateTrajectories,
  generateTrajectory,
  generationCorrection,
  type GenerateOptions,
  type GeneratedEvent,
  type GenerationModel,
  type TrajectoryEvent,
} from './generate';
import {
  engineLabel,
  forcedChoice,
  medianMs,
  pickFaster,
  WORKLOADS,
  type EngineChoice,
  type EngineName,
} from './workloads';
import { meanLoss, rankBatchTargets, type BatchScorer, type ScoredTarget } from '../core/batch-evaluation';
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

/** Lets the page paint between batches of a long job on the main thread. */
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export class Predictor implements BehaviorModel {
  readonly info: ModelInfo;
  readonly backend: BackendChoice;
  private readonly loaded: LoadedModel;
  private readonly modelFiles: ModelFiles;
  private readonly exclude: Set<number>;
  private explainer: Promise<Explainer> | null = null;
  private decoder: Promise<CpuDecoder> | null = null;
  /** The engine asked for (?engine=…), or null to measure per workload. */
  private readonly forcedEngine: EngineName | null;
  private choices: EngineChoices = {};
  private readonly listeners = new Set<() => void>();
  /** Trajectories of the last generate measurement. */
  private generateMeasuredFor = 0;

  /** `files` are the ones `loaded` was built from (kept for fine-tuning, saving and export). */
  constructor(loaded: LoadedModel, backend: BackendChoice, files: ModelFiles, engine: EngineName | 'auto' = 'auto') {
    this.loaded = loaded;
    this.backend = backend;
    this.modelFiles = files;
    this.forcedEngine = engine === 'auto' ? null : engine;
    if (this.forcedEngine)
      this.choices = Object.fromEntries(WORKLOADS.map((w) => [w, forcedChoice(w, this.forcedEngine!, backend.name)]));
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

  /** The engine chosen for each workload so far (a new object after every change). */
  get engines(): EngineChoices {
    return this.choices;
  }

  /** Calls `listener` whenever an engine choice is made; returns the unsubscribe function. */
  subscribeEngines(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private setChoice(choice: EngineChoice): EngineChoice {
    this.choices = { ...this.choices, [choice.workload]: choice };
    for (const listener of this.listeners) listener();
    return choice;
  }

  /** The plain-JS decoder (weights copied once, on first use). */
  private getDecoder(): Promise<CpuDecoder> {
    this.decoder ??= CpuDecoder.fromModel(this.loaded.model);
    return this.decoder;
  }

  /** Probabilities at flat batch positions with an engine. */
  private async scorer(engine: EngineName): Promise<BatchScorer> {
    if (engine === 'tfjs') return (batch, positions) => this.loaded.model.probabilities(batch, Array.from(positions));
    const decoder = await this.getDecoder();
    return async (batch: Batch, positions: Int32Array) => decoder.batchProbabilities(batch, positions);
  }

  private label(engine: EngineName): string {
    return engineLabel(engine, this.backend.name);
  }

  /**
   * Chooses the engine of one-query prediction: a full-context query timed on each (median of 5
   * after 2 warm-ups; the tfjs figure is the backend choice's own when it has one).
   */
  async choosePredictEngine(): Promise<EngineChoice> {
    if (this.forcedEngine) return this.choices.predict!;
    const { model, behaviors, locations } = this.loaded;
    const { history, next } = fullContextQuery(this.info.behaviors, model.config.contextLength - 1);
    const { batch, position } = encodeQuery(history, next, behaviors, locations, model.config.contextLength);
    const positions = Int32Array.of(position);
    const measured = [];
    for (const engine of ['js', 'tfjs'] as const) {
      const known = engine === 'tfjs' ? this.backend.measuredMs[this.backend.name] : undefined;
      const scorer = await this.scorer(engine);
      measured.push({
        engine,
        label: this.label(engine),
        value: known ?? (await medianMs(() => scorer(batch, positions))),
        unit: 'ms' as const,
      });
    }
    return this.setChoice(pickFaster('predict', measured, 'per prediction (median of 5)'));
  }

  /** Full probability vector over the vocabulary for the event after `history`. */
  async probabilities(history: readonly BehaviorEvent[], next: EventContext): Promise<Float32Array> {
    const { model, behaviors, locations } = this.loaded;
    const { batch, position } = encodeQuery(history, next, behaviors, locations, model.config.contextLength);
    return (await this.scorer(this.choices.predict?.engine ?? 'tfjs'))(batch, Int32Array.of(position));
  }

  /**
   * Scoring a log: both engines timed on its first 64 windows (after a warm-up on 4), the faster
   * kept for this model's later logs too.
   */
  private async chooseScoreEngine(sequences: readonly BehaviorSequence[]): Promise<EngineChoice> {
    if (this.choices.score) return this.choices.score;
    const { model, behaviors, locations } = this.loaded;
    const windows = toExamples(sequences, model.config.contextLength).slice(0, 64);
    const sample = encodeBatch(windows, behaviors, locations);
    const positions = Int32Array.from(
      windows.flatMap((ex, b) =>
        ex.events.map((_, t) => (t >= ex.firstTarget ? b * sample.length + t : -1)).filter((p) => p >= 0),
      ),
    );
    const warm = encodeBatch(windows.slice(0, 4), behaviors, locations, sample.length);
    const measured = [];
    for (const engine of ['js', 'tfjs'] as const) {
      const scorer = await this.scorer(engine);
      await scorer(warm, Int32Array.of(0));
      const ms = await medianMs(() => scorer(sample, positions), 1, 0);
      measured.push({
        engine,
        label: this.label(engine),
        value: (positions.length / ms) * 1000,
        unit: 'positions/s' as const,
      });
    }
    return this.setChoice(
      pickFaster('score', measured, `on the log's first ${windows.length} windows (${positions.length} positions)`),
    );
  }

  /**
   * Scores every position of a log with the full-ranking protocol of `npm run evaluate` (windows,
   * every position t ≥ 1, all behaviors ranked): its loss and metrics, all targets and without
   * refresh events, on the engine measured fastest for this workload. Yields to the page between
   * batches; `signal` stops it.
   */
  async scoreLog(sequences: readonly BehaviorSequence[], options: ScoreLogOptions = {}): Promise<LogScore> {
    const { batchSize = 64, onProgress, signal } = options;
    const { model, behaviors, locations } = this.loaded;
    const t0 = performance.now();
    const engine = await this.chooseScoreEngine(sequences);
    const scored: ScoredTarget[] = await rankBatchTargets(
      await this.scorer(engine.engine),
      sequences,
      behaviors,
      locations,
      model.config.contextLength,
      {
        batchSize,
        signal,
        onBatch: async (done, total) => {
          onProgress?.(done, total);
          await nextTask();
        },
      },
    );
    const noRefresh = scored.filter((t) => !isRefresh(t.behavior));
    const metrics = (targets: ScoredTarget[]) => ({ loss: meanLoss(targets), ...rankingMetrics(targets) });
    return {
      sequences: sequences.length,
      targets: scored.length,
      all: metrics(scored),
      noRefresh: metrics(noRefresh),
      seconds: (performance.now() - t0) / 1000,
      engine,
    };
  }

  /** The k most likely next behaviors, most likely first. History longer than the context slides. */
  async predictNext(
    history: readonly BehaviorEvent[],
    next: EventContext,
    options: PredictOptions = {},
  ): Promise<Prediction[]> {
    const { k = 5 } = options;
    const probs = await this.probabilities(history, next);
    return topK(probs, k, this.exclude).map((id) => ({
      behavior: this.loaded.behaviors.name(id),
      probability: probs[id],
    }));
  }

  /** The plain-JS decoder the explanations run on, made on first use (it copies the weights once). */
  private getExplainer(): Promise<Explainer> {
    this.explainer ??= Explainer.create(this.loaded);
    return this.explainer;
  }

  /**
   * Why: how much each event of the history (its last contextLength − 1 events) moves the
   * probability of `behavior` (default: the top-1) for an event at `next` (occlusion), with the
   * attention view. See model/explain.ts.
   */
  async explain(
    history: readonly BehaviorEvent[],
    next: EventContext,
    options: ExplainOptions = {},
  ): Promise<Explanation> {
    const { behavior, removal = DEFAULT_REMOVAL } = options;
    const explainer = await this.getExplainer();
    const target =
      behavior ?? this.loaded.behaviors.name(topK(explainer.probabilities(history, next), 1, this.exclude)[0]);
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
    return generateTrajectory(this.loaded, {
      behaviorLogCorrection: generationCorrection(this.loaded.manifest),
      ...options,
      prefix,
    });
  }

  /**
   * Generating many trajectories at once: both step engines timed over the first 3 steps of
   * this run's own settings (results thrown away), at its number of trajectories; measured again
   * when that number changes by more than 2×.
   */
  private async chooseGenerateEngine(options: GenerateOptions, count: number): Promise<EngineChoice> {
    const known = this.choices.generate;
    if (
      known &&
      (this.forcedEngine || (count <= 2 * this.generateMeasuredFor && 2 * count >= this.generateMeasuredFor))
    )
      return known;
    const measured = [];
    const trial = {
      ...options,
      behaviorLogCorrection: generationCorrection(this.loaded.manifest),
      maxEvents: 3,
      horizonSlots: undefined,
      signal: undefined,
    };
    for (const engine of ['js', 'tfjs'] as const) {
      const t0 = performance.now();
      let events = 0;
      for await (const step of generateTrajectories(this.loaded, trial, count, engine)) events += step.length;
      measured.push({
        engine,
        label: this.label(engine),
        value: (events / (performance.now() - t0)) * 1000,
        unit: 'events/s' as const,
      });
    }
    this.generateMeasuredFor = count;
    return this.setChoice(pickFaster('generate', measured, `over the first 3 steps of ${count} trajectories`));
  }

  /**
   * Streams `count` trajectories sampled together, step by step (model/generate.ts
   * generateTrajectories; trajectory k uses seed + k), on the step engine measured fastest for
   * that many trajectories.
   */
  async *generateMany(
    prefix: readonly BehaviorEvent[],
    count: number,
    options: GenerateEventsOptions,
  ): AsyncGenerator<TrajectoryEvent[]> {
    const engine = await this.chooseGenerateEngine({ ...options, prefix }, count);
    yield* generateTrajectories(
      this.loaded,
      { behaviorLogCorrection: generationCorrection(this.loaded.manifest), ...options, prefix },
      count,
      engine.engine,
    );
  }

  dispose(): void {
    this.loaded.model.dispose();
  }
}

/**
 * A synthetic full-context query for timing (backend warm-up and benchmarks): `events` events
 * cycling through the behaviors, weekdays and slots, and a fixed time for the next event.
 */
export function fullContextQuery(
  behaviorNames: readonly string[],
  events: number,
): { history: BehaviorEvent[]; next: EventContext } {
  const history = Array.from({ length: events }, (_, i) => ({
    behavior: behaviorNames[(i * 7) % behaviorNames.length],
    weekday: i % 7,
    slot: i % 8,
    location: UNKNOWN_LOCATION,
  }));
  return { history, next: { weekday: 4, slot: 6, location: UNKNOWN_LOCATION } };
}

/**
 * N full-context queries as one batch (benchmarks): N windows of contextLength − 1 events (the
 * events vary by row) and the predicted event's time, each read at its last token.
 */
export function fullContextBatch(
  m: Pick<LoadedModel, 'behaviors' | 'locations'> & { contextLength: number },
  n: number,
): { batch: Batch; positions: Int32Array } {
  const names = m.behaviors.tokens.filter((_, i) => !m.behaviors.isSpecial(i));
  const T = m.contextLength;
  const { history, next } = fullContextQuery(names, T - 1);
  const examples = Array.from({ length: n }, (_, b) => ({
    events: [
      ...history.map((e, i) => ({ ...e, behavior: names[(i * 7 + b * 13) % names.length], slot: (i + b) % 8 })),
      { behavior: names[0], ...next },
    ],
    firstTarget: T,
    sequenceId: `q${b}`,
    offset: 0,
  }));
  return {
    batch: encodeBatch(examples, m.behaviors, m.locations, T),
    positions: Int32Array.from({ length: n }, (_, b) => b * T + T - 1),
  };
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
export async function timeExplanations(
  predictor: Predictor,
  events: number,
  runs: number,
  warmup = 10,
): Promise<ExplanationTimes> {
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
