/**
 * Long-term trajectory generation: each step the time head says when the next event happens
 * (a slot delta), then the behavior head says what it is at that time; both are sampled on the
 * CPU side with a seeded PRNG. With the key/value cache each new event costs one position; when
 * the context is full it slides, re-reading the last half of it in one pass.
 */
import { encodeBatch } from '../core/batch';
import { BOS, PAD } from '../core/vocab';
import { bosIds, CpuDecoder, type TargetIds, type TokenIds } from './cpu-decoder';
import { modelWidth } from './behavegpt';
import { UNKNOWN_LOCATION, type BehaviorEvent, type EventContext } from '../core/events';
import { createRng } from '../core/random';
import { sample, type SamplingOptions } from '../core/sampling';
import { addSlots, NUM_SLOT_DELTAS, type WeekTime } from '../core/time';
import type { Vocabulary } from '../core/vocab';
import * as tf from '@tensorflow/tfjs-core';
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
  return (manifest.training.generation as { behaviorLogCorrection?: Record<string, number> } | undefined)
    ?.behaviorLogCorrection;
}

export function canGenerate(model: BehaveGPT): boolean {
  return model.config.timeHead === true;
}

export async function* generateTrajectory(
  m: GenerationModel,
  options: GenerateOptions,
): AsyncGenerator<GeneratedEvent> {
  for await (const [{ trajectory: _, ...event }] of generateTrajectories(
    m,
    options,
    1,
    options.cache === false ? 'tfjs' : 'js',
  ))
    yield event;
}

/** A generated event of one of several trajectories. */
export interface TrajectoryEvent extends GeneratedEvent {
  /** 0-based index of the trajectory; trajectory k is sampled with seed + k. */
  trajectory: number;
}

/**
 * How the steps run: `js`, the plain-JS decoder with one key/value cache per trajectory (one
 * position per event); `tfjs`, the tfjs model on the current backend re-reading every
 * trajectory's window each step, all trajectories in one batch.
 */
export type StepEngine = 'js' | 'tfjs';

/**
 * Samples `count` trajectories after the same prefix, all steps batched across trajectories;
 * yields the events of each step (one per trajectory still running). Trajectory k is what
 * generateTrajectory gives with seed `options.seed + k`: each has its own generator of random
 * numbers, and stops at its own horizon.
 */
export async function* generateTrajectories(
  m: GenerationModel,
  options: GenerateOptions,
  count: number,
  engine: StepEngine = 'js',
): AsyncGenerator<TrajectoryEvent[]> {
  const { model, behaviors, locations } = m;
  if (!canGenerate(model))
    throw new Error(
      'generate: this model has no time head (it was trained before generation existed); use the shipped model or fine-tune from it',
    );
  if (options.prefix.length === 0 && !options.start)
    throw new Error('generate: an empty prefix needs a start time (weekday and slot)');
  if (!(options.maxEvents >= 0)) throw new Error(`generate: maxEvents must be ≥ 0, got ${options.maxEvents}`);
  if (!(Number.isInteger(count) && count >= 1))
    throw new Error(`generate: the number of trajectories must be a whole number ≥ 1, got ${count}`);
  const seed = options.seed ?? 0;
  const sampling = options.sampling ?? {};
  const timeSampling = options.timeSampling ?? { temperature: sampling.temperature ?? 1 };
  const exclude = new Set(model.config.specialBehaviorIds);
  const location = options.location ?? options.prefix.at(-1)?.location ?? UNKNOWN_LOCATION;
  const locationId = locations.has(location) ? locations.id(location) : locations.id(UNKNOWN_LOCATION);
  // A Map, not an object lookup: a behavior may be called "constructor" or "__proto__".
  const logCorrection = options.behaviorLogCorrection ? new Map(Object.entries(options.behaviorLogCorrection)) : null;
  const correction = logCorrection
    ? Float64Array.from(behaviors.tokens, (name) => Math.exp(logCorrection.get(name) ?? 0))
    : null;
  const runs = Array.from({ length: count }, (_, k) => ({
    rng: createRng(seed + k),
    history: [...options.prefix] as BehaviorEvent[],
    last: options.prefix.at(-1) as WeekTime | undefined,
    elapsed: 0,
    done: false,
  }));
  const stepper =
    engine === 'js'
      ? await cachedStepper(
          m,
          runs.map((r) => r.history),
          locationId,
        )
      : recomputingStepper(
          m,
          runs.map((r) => r.history),
          location,
        );
  const V = behaviors.size;
  try {
    let state = await stepper.start();
    for (let index = 0; index < options.maxEvents; index++) {
      if (options.signal?.aborted) return;
      // When each running trajectory's next event happens; a trajectory past its horizon stops.
      const active: number[] = [];
      const times: { time: WeekTime; probability: number; delta: number }[] = [];
      for (let k = 0; k < count; k++) {
        const run = runs[k];
        if (run.done) continue;
        let time: WeekTime;
        let probability = 1;
        let delta = 0;
        if (index === 0 && options.start) time = options.start;
        else {
          const dist = state.time(k);
          delta = sample(dist, run.rng, timeSampling);
          probability = dist[delta];
          time = addSlots(run.last!, delta);
        }
        if (options.horizonSlots !== undefined && run.elapsed + delta > options.horizonSlots) {
          run.done = true;
          continue;
        }
        active.push(k);
        times.push({ time, probability, delta });
      }
      if (active.length === 0) return;
      const probs = await state.behaviors(
        active,
        times.map(({ time }) => ({ weekday: time.weekday, slot: time.slot, location: locationId })),
      );
      const events: TrajectoryEvent[] = [];
      const appended: BehaviorEvent[] = [];
      active.forEach((k, i) => {
        const run = runs[k];
        const row = probs.subarray(i * V, (i + 1) * V);
        const id = sample(correction ? row.map((p, c) => p * correction[c]) : row, run.rng, sampling, exclude);
        const { time, probability, delta } = times[i];
        const event: BehaviorEvent = { behavior: behaviors.name(id), weekday: time.weekday, slot: time.slot, location };
        run.history.push(event);
        run.last = time;
        run.elapsed += delta;
        appended.push(event);
        events.push({
          ...event,
          index,
          elapsedSlots: run.elapsed,
          probability: row[id],
          timeProbability: probability,
          trajectory: k,
        });
      });
      state = await stepper.advance(active, appended);
      yield events;
    }
  } finally {
    stepper.dispose();
  }
}

/** After reading each trajectory's history so far: its next event's time distribution, and behavior distributions given times. */
interface StepState {
  time(trajectory: number): Float32Array;
  /** Rows of behavior distributions, row i for trajectory `trajectories[i]` at `next[i]`. */
  behaviors(trajectories: readonly number[], next: readonly TargetIds[]): Promise<Float32Array>;
}

interface Stepper {
  start(): Promise<StepState>;
  /** The trajectories listed got one more event each (already appended to their histories). */
  advance(trajectories: readonly number[], events: readonly BehaviorEvent[]): Promise<StepState>;
  /** Frees what the stepper holds (called however generation ends). */
  dispose(): void;
}

/**
 * Key/value-cached steps on the CPU (model/cpu-decoder.ts), one cache per trajectory: one
 * position per event; when a context is full it slides, re-reading the last half of it.
 */
async function cachedStepper(
  m: GenerationModel,
  histories: readonly BehaviorEvent[][],
  locationId: number,
): Promise<Stepper> {
  const { contextLength } = m.model.config;
  const decoders = await Promise.all(histories.map(() => CpuDecoder.fromModel(m.model)));
  const d = modelWidth(m.model.config);
  const hidden = new Float64Array(histories.length * d);
  const time = new Float32Array(histories.length * NUM_SLOT_DELTAS);
  const ids = (e: BehaviorEvent): TokenIds => ({
    behavior: m.behaviors.id(e.behavior),
    weekday: e.weekday,
    slot: e.slot,
    location: m.locations.has(e.location) ? m.locations.id(e.location) : locationId,
  });
  const keep = (k: number, h: Float64Array) => {
    hidden.set(h, k * d);
    decoders[k].timeRows(h, 1, time, k * NUM_SLOT_DELTAS);
  };
  /** <bos> and the last `events` events of trajectory k's history. */
  const refill = (k: number, events: number) => {
    const decoder = decoders[k];
    const history = histories[k];
    decoder.reset();
    let h = decoder.push(bosIds(m.behaviors.id(BOS)));
    for (const e of history.slice(Math.max(0, history.length - events))) h = decoder.push(ids(e));
    keep(k, h);
  };
  const rows = new Float64Array(histories.length * d);
  const state: StepState = {
    time: (k) => time.subarray(k * NUM_SLOT_DELTAS, (k + 1) * NUM_SLOT_DELTAS),
    behaviors: async (ks, next) => {
      ks.forEach((k, i) => {
        rows.set(hidden.subarray(k * d, (k + 1) * d), i * d);
      });
      const out = new Float32Array(ks.length * m.model.config.numBehaviors);
      decoders[0].behaviorRows(rows, ks.length, (i) => next[i], out);
      return out;
    },
  };
  return {
    start: async () => {
      for (let k = 0; k < histories.length; k++) refill(k, contextLength - 1);
      return state;
    },
    advance: async (ks, events) => {
      ks.forEach((k, i) => {
        if (decoders[k].length >= contextLength) refill(k, Math.floor(contextLength / 2));
        else keep(k, decoders[k].push(ids(events[i])));
      });
      return state;
    },
    dispose: () => {
      for (const decoder of decoders) decoder.reset();
    },
  };
}

/**
 * Without a cache: every step re-reads the last contextLength − 1 events of each running
 * trajectory with the tfjs model on the current backend, all trajectories in one batch.
 */
function recomputingStepper(m: GenerationModel, histories: readonly BehaviorEvent[][], location: string): Stepper {
  const { model, behaviors, locations } = m;
  // The placeholder time of a query only feeds the behavior head, which `step` does not run.
  const placeholder: EventContext = { weekday: 0, slot: 0, location };
  let hidden: tf.Tensor2D | null = null;
  const read = async (ks: readonly number[]): Promise<StepState> => {
    hidden?.dispose();
    hidden = null;
    const windows = ks.map((k) =>
      histories[k].slice(Math.max(0, histories[k].length - (model.config.contextLength - 1))),
    );
    const length = Math.max(...windows.map((w) => w.length)) + 1;
    // As encodeQuery: the window and a placeholder for the predicted event, read at the placeholder's token.
    const examples = windows.map((w) => ({
      events: [...w, { behavior: PAD, ...placeholder }],
      firstTarget: length,
      sequenceId: 'trajectory',
      offset: 0,
    }));
    const out = await model.step(
      encodeBatch(examples, behaviors, locations, length),
      windows.map((w, i) => i * length + w.length),
    );
    const rowOf = new Map(ks.map((k, i) => [k, i]));
    const own = out.hidden;
    hidden = own;
    return {
      time: (k) => out.time!.subarray(rowOf.get(k)! * NUM_SLOT_DELTAS, (rowOf.get(k)! + 1) * NUM_SLOT_DELTAS),
      behaviors: async (wanted, next) => {
        const rows = tf.tidy(() =>
          tf.gather(
            own,
            tf.tensor1d(
              wanted.map((k) => rowOf.get(k)!),
              'int32',
            ),
          ),
        ) as tf.Tensor2D;
        try {
          return await model.behaviorProbabilities(rows, next);
        } finally {
          rows.dispose();
        }
      },
    };
  };
  const all = histories.map((_, k) => k);
  return { start: () => read(all), advance: (ks) => read(ks), dispose: () => hidden?.dispose() };
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
export async function timeRollout(
  m: GenerationModel,
  prefix: readonly BehaviorEvent[],
  events: number,
  cache: boolean,
  seed: number,
): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  for await (const _ of generateTrajectory(m, { prefix, maxEvents: events, cache, seed })) n++;
  if (n !== events) throw new Error(`rollout produced ${n} of ${events} events`);
  return performance.now() - t0;
}
