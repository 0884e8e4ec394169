/**
 * Long-term trajectory generation: each step the time head says when the next event happens
 * (a slot delta), then the behavior head says what it is at that time; both are sampled on the
 * CPU side with a seeded PRNG. With the key/value cache each new event costs one position; when
 * the context is full it slides, re-reading the last half of it in one pass.
 */
import { encodeQuery, encodeStep } from '../core/batch';
import { UNKNOWN_LOCATION, type BehaviorEvent, type EventContext } from '../core/events';
import { createRng } from '../core/random';
import { sample, type SamplingOptions } from '../core/sampling';
import { addSlots, type WeekTime } from '../core/time';
import type { Vocabulary } from '../core/vocab';
import { disposeDecodeState, type BehaveGPT, type DecodeState } from './behavegpt';

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
  const useCache = options.cache ?? true;
  const history: BehaviorEvent[] = [...options.prefix];
  // The placeholder time of a query only feeds the behavior head, which `step` does not run.
  const placeholder: EventContext = { weekday: 0, slot: 0, location };
  /** Re-reads the last `events` events of history in one pass. */
  const prefill = (events: number) => model.step(encodeQuery(history.slice(Math.max(0, history.length - events)), placeholder, behaviors, locations, contextLength).batch);

  let { hidden, time, state } = await prefill(contextLength - 1);
  let last: WeekTime | undefined = options.prefix.at(-1);
  let elapsed = 0;
  try {
    for (let index = 0; index < options.maxEvents; index++) {
      if (options.signal?.aborted) return;
      let next: WeekTime;
      let timeProbability = 1;
      if (index === 0 && options.start) {
        next = options.start;
      } else {
        const delta = sample(time!, rng, timeSampling);
        timeProbability = time![delta];
        next = addSlots(last!, delta);
        elapsed += delta;
      }
      if (options.horizonSlots !== undefined && elapsed > options.horizonSlots) return;
      const probs = await model.behaviorProbabilities(hidden, { weekday: next.weekday, slot: next.slot, location: locationId });
      const id = sample(probs, rng, sampling, exclude);
      const event: BehaviorEvent = { behavior: behaviors.name(id), weekday: next.weekday, slot: next.slot, location };
      history.push(event);
      last = next;
      hidden.dispose();
      let advanced: Awaited<ReturnType<BehaveGPT['step']>>;
      if (!useCache) {
        disposeDecodeState(state);
        advanced = await prefill(contextLength - 1);
      } else if (state.length >= contextLength) {
        // Full: slide by half, so the next contextLength/2 steps are incremental again.
        disposeDecodeState(state);
        advanced = await prefill(Math.floor(contextLength / 2));
      } else {
        advanced = await model.step(encodeStep(event, placeholder, behaviors, locations), state);
        disposeDecodeState(state);
      }
      ({ hidden, time, state } = advanced);
      yield { ...event, index, elapsedSlots: elapsed, probability: probs[id], timeProbability };
    }
  } finally {
    hidden.dispose();
    disposeDecodeState(state);
  }
}

/** Collects a whole trajectory (Node commands, tests). */
export async function generateAll(m: GenerationModel, options: GenerateOptions): Promise<GeneratedEvent[]> {
  const out: GeneratedEvent[] = [];
  for await (const e of generateTrajectory(m, options)) out.push(e);
  return out;
}
