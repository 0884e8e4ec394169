/**
 * Long-term trajectory generation: each step the time head says when the next event happens
 * (a slot delta), then the behavior head says what it is at that time; both are sampled on the
 * CPU side with a seeded PRNG. With the key/value cache each new event costs one position; when
 * the context is full it slides, re-reading the last half of it in one pass.
 */
import { encodeQuery } from '../core/batch';
import { BOS } from '../core/vocab';
import { bosIds, CpuDecoder, type TokenIds } from './cpu-decoder';
import { UNKNOWN_LOCATION, type BehaviorEvent, type EventContext } from '../core/events';
import { createRng } from '../core/random';
import { sample, type SamplingOptions } from '../core/sampling';
import { addSlots, type WeekTime } from '../core/time';
import type { Vocabulary } from '../core/vocab';
import type * as tf from '@tensorflow/tfjs-core';
import type { BehaveGPT } from './behavegpt';
import type { ModelManifest } from './weights';

export interface GenerateOptions {
  /** Events to continue (replayed or typed); may be empty. */
  prefix: readonly BehaviorEvent[];
  /**
   * When the first generated event happens. Required with an empty prefix; otherwise optional
   * (the time head predicts it from the prefix).
   */
  start?: WeekTime;
  /** Place of the generated events (default: the last prefix event's, else unknown). */
  location?: string;
  /** Stop after this many events. */
  maxEvents: number;
  /** Stop before the first event more than this many 3-hour slots after the start (56 = 7 days). */
  horizonSlots?: number;
  /** Behavior sampling: temperature, top-k, top-p or greedy. */
  sampling?: SamplingOptions;
  /** Time sampling (slot deltas); default: the behavior temperature, no filtering. */
  timeSampling?: SamplingOptions;
  seed?: number;
  /**
   * Added to the behavior log-probabilities before sampling (core/calibration.ts marginalCorrection;
   * shipped in the manifest as training.generation.behaviorLogCorrection). Names it lacks get 0.
   */
  behaviorLogCorrection?: Readonly<Record<string, number>>;
  /** Incremental decoding with the key/value cache (default); false recomputes the window each step. */
  cache?: boolean;
  signal?: AbortSignal;
}

export interface GeneratedEvent extends BehaviorEvent {
  /** 0-based index among the generated events. */
  index: number;
  /** 3-hour slots from the start (the first generated event's time, or the prefix's last event). */
  elapsedSlots: number;
  /** Probability of the chosen behavior under the model (before temperature / filtering). */
  probability: number;
  /** Probability of the chosen slot delta under the time head (1 for a given start). */
  timeProbability: number;
}

export interface GenerationModel {
  model: BehaveGPT;
  behaviors: Vocabulary;
  locations: Vocabulary;
}

/** The sampling correction a model file carries (training.generation.behaviorLogCorrection), if any. */
export function generationCorrection(manifest: ModelManifest): Record<string, number> | undefined {
  return (manifest.training.generation as { behaviorLogCorrection?: Record<string, number> } | undefined)?.behaviorLogCorrection;
}

export function canGenerate(model: BehaveGPT): boolean {
  return model.config.timeHead === true;
}

export async function* generateTrajectory(m: GenerationModel, options: GenerateOptions): AsyncGenerator<GeneratedEvent> {
  const { model, behaviors, locations } = m;
  if (!canGenerate(model)) throw new Error('generate: this model has no time head (it was trained before generation existed); use the shipped model or fine-tune from it');
  if (options.prefix.length === 0 && !options.start) throw new Error('generate: an empty prefix needs a start time (weekday and slot)');
  if (!(options.maxEvents >= 0)) throw new Error(`generate: maxEvents must be ≥ 0, got ${options.maxEvents}`);
  const rng = createRng(options.seed ?? 0);
  const sampling = options.sampling ?? {};
  const timeSampling = options.timeSampling ?? { temperature: sampling.temperature ?? 1 };
  const exclude = new Set(model.config.specialBehaviorIds);
  const contextLength = model.config.contextLength;
  const location = options.location ?? options.prefix.at(-1)?.location ?? UNKNOWN_LOCATION;
  const locationId = locations.has(location) ? locations.id(location) : locations.id(UNKNOWN_LOCATION);
  const history: BehaviorEvent[] = [...options.prefix];
  // A Map, not an object lookup: a behavior may be called "constructor" or "__proto__".
  const logCorrection = options.behaviorLogCorrection ? new Map(Object.entries(options.behaviorLogCorrection)) : null;
  const correction = logCorrection ? Float64Array.from(behaviors.tokens, (name) => Math.exp(logCorrection.get(name) ?? 0)) : null;
  const next = options.cache === false ? recomputingStepper(m, history, location) : await cachedStepper(m, history, locationId);

  let last: WeekTime | undefined = options.prefix.at(-1);
  let elapsed = 0;
  try {
  let state = await next.start();
  for (let index = 0; index < options.maxEvents; index++) {
    if (options.signal?.aborted) return;
    let time: WeekTime;
    let timeProbability = 1;
    if (index === 0 && options.start) {
      time = options.start;
    } else {
      const delta = sample(state.time, rng, timeSampling);
      timeProbability = state.time[delta];
      time = addSlots(last!, delta);
      elapsed += delta;
    }
    if (options.horizonSlots !== undefined && elapsed > options.horizonSlots) return;
    const probs = await state.behaviors({ weekday: time.weekday, slot: time.slot, location: locationId });
    const id = sample(correction ? probs.map((p, k) => p * correction[k]) : probs, rng, sampling, exclude);
    const event: BehaviorEvent = { behavior: behaviors.name(id), weekday: time.weekday, slot: time.slot, location };
    history.push(event);
    last = time;
    state = await next.advance(event);
    yield { ...event, index, elapsedSlots: elapsed, probability: probs[id], timeProbability };
  }
  } finally {
    next.dispose();
  }
}

/** After reading the history so far: the next event's time distribution, and its behavior distribution given a time. */
interface StepState {
  time: Float32Array;
  behaviors(next: { weekday: number; slot: number; location: number }): Promise<Float32Array> | Float32Array;
}

interface Stepper {
  start(): Promise<StepState>;
  advance(event: BehaviorEvent): Promise<StepState>;
  /** Frees what the stepper holds (called however generation ends). */
  dispose(): void;
}

/**
 * Key/value-cached steps on the CPU (model/cpu-decoder.ts): one position per event; when the
 * context is full it slides, re-reading the last half of it.
 */
async function cachedStepper(m: GenerationModel, history: readonly BehaviorEvent[], locationId: number): Promise<Stepper> {
  const decoder = await CpuDecoder.fromModel(m.model);
  const { contextLength } = m.model.config;
  const ids = (e: BehaviorEvent): TokenIds => ({
    behavior: m.behaviors.id(e.behavior),
    weekday: e.weekday,
    slot: e.slot,
    location: m.locations.has(e.location) ? m.locations.id(e.location) : locationId,
  });
  const stateOf = (hidden: Float64Array): StepState => ({ time: decoder.timeProbabilities(hidden), behaviors: (next) => decoder.behaviorProbabilities(hidden, next) });
  /** <bos> and the last `events` events of history. */
  const refill = (events: number) => {
    decoder.reset();
    let hidden = decoder.push(bosIds(m.behaviors.id(BOS)));
    for (const e of history.slice(Math.max(0, history.length - events))) hidden = decoder.push(ids(e));
    return stateOf(hidden);
  };
  return {
    start: async () => refill(contextLength - 1),
    advance: async (event) => (decoder.length >= contextLength ? refill(Math.floor(contextLength / 2)) : stateOf(decoder.push(ids(event)))),
    dispose: () => decoder.reset(),
  };
}

/** Without a cache: every step re-reads the last contextLength − 1 events with the tfjs model on the current backend. */
function recomputingStepper(m: GenerationModel, history: readonly BehaviorEvent[], location: string): Stepper {
  const { model, behaviors, locations } = m;
  // The placeholder time of a query only feeds the behavior head, which `step` does not run.
  const placeholder: EventContext = { weekday: 0, slot: 0, location };
  let hidden: tf.Tensor2D | null = null;
  const read = async (): Promise<StepState> => {
    hidden?.dispose();
    const out = await model.step(encodeQuery(history, placeholder, behaviors, locations, model.config.contextLength).batch);
    hidden = out.hidden;
    return { time: out.time!, behaviors: (next) => model.behaviorProbabilities(out.hidden, next) };
  };
  return { start: read, advance: () => read(), dispose: () => hidden?.dispose() };
}

/** Collects a whole trajectory (Node commands, tests). */
export async function generateAll(m: GenerationModel, options: GenerateOptions): Promise<GeneratedEvent[]> {
  const out: GeneratedEvent[] = [];
  for await (const e of generateTrajectory(m, options)) out.push(e);
  return out;
}

/**
 * Times one rollout of `events` events after a synthetic prefix (benchmarks in Node and in the
 * browser share it): milliseconds from the first step to the last event.
 */
export async function timeRollout(m: GenerationModel, prefix: readonly BehaviorEvent[], events: number, cache: boolean, seed: number): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  for await (const _ of generateTrajectory(m, { prefix, maxEvents: events, cache, seed })) n++;
  if (n !== events) throw new Error(`rollout produced ${n} of ${events} events`);
  return performance.now() - t0;
}
