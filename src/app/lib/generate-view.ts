/**
 * The Generate view's logic, without React: which events a run continues (the replayed sequence
 * up to the current step, the typed sequence, or nothing), the generation options a form's
 * settings stand for, and which real series a run is compared with. Pure. The rows the charts
 * plot (timeline, shares) are src/charts/generate-rows.ts's.
 */
import { NUM_SLOTS, NUM_WEEKDAYS, type BehaviorEvent, type BehaviorSequence } from '../../core/events';
import type { SamplingOptions } from '../../core/sampling';
import type { WeekTime } from '../../core/time';
import type { GenerateOptions } from '../../lib/index';
import { seriesCounts, type SeriesCounts } from '../../charts/generate-rows';

export type GenerateSource = 'replay' | 'typed' | 'empty';
export type GenerateMode = 'count' | 'horizon';

export const DEFAULT_EVENTS = 50;
export const MAX_EVENTS = 1000;
export const MIN_DAYS = 1;
export const MAX_DAYS = 14;
export const MAX_TEMPERATURE = 5;
/** Trajectories sampled together for the charts (at most MAX_EVENTS events each). */
export const MAX_TRAJECTORIES = 200;

export interface GenerateSettings {
  source: GenerateSource;
  /** Stop after `count` events, or at the horizon of `days` days (at most MAX_EVENTS events). */
  mode: GenerateMode;
  count: number;
  days: number;
  /**
   * Whether the first generated event happens at startWeekday/startSlot; otherwise the time
   * head predicts it from the prefix. An empty prefix always needs it.
   */
  fixStart: boolean;
  startWeekday: number;
  startSlot: number;
  temperature: number;
  /** Keep the k most likely behaviors; 0 = off. */
  topK: number;
  /** Nucleus sampling mass; 1 = off. */
  topP: number;
  seed: number;
  /**
   * Trajectories sampled together, trajectory k with seed + k: the timeline and the list show the
   * first, the generated-vs-real charts pool them all.
   */
  trajectories: number;
}

export const DEFAULT_SETTINGS: GenerateSettings = {
  source: 'replay',
  mode: 'count',
  count: DEFAULT_EVENTS,
  days: 7,
  fixStart: false,
  startWeekday: 4,
  startSlot: 6,
  // The sampling chosen on valid by `npm run generation` (docs/RESULTS.md; a unit test keeps them equal): temperature 0.9, top-p 0.95.
  temperature: 0.9,
  topK: 0,
  topP: 0.95,
  seed: 1,
  trajectories: 1,
};

/** What a run continues, read from the Replay and Type stores. */
export interface PrefixChoice {
  source: GenerateSource;
  prefix: BehaviorEvent[];
  /** One line for the page, e.g. "12 events of us-0042 (up to step 12)". */
  description: string;
  /** Replay only: the real events after the prefix. */
  continuation: BehaviorEvent[] | null;
  /** Replay only: the whole real sequence. */
  sequence: BehaviorSequence | null;
}

export interface PrefixInputs {
  replay: { sequence: BehaviorSequence | null; step: number };
  typed: readonly BehaviorEvent[];
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function choosePrefix(source: GenerateSource, inputs: PrefixInputs): PrefixChoice {
  if (source === 'replay') {
    const { sequence, step } = inputs.replay;
    if (!sequence)
      return { source, prefix: [], description: 'no replayed sequence loaded', continuation: null, sequence: null };
    const t = Math.min(Math.max(Math.round(step), 0), sequence.events.length);
    return {
      source,
      prefix: sequence.events.slice(0, t),
      description: `${plural(t, 'event')} of ${sequence.id} (up to step t = ${t}, of ${sequence.events.length})`,
      continuation: sequence.events.slice(t),
      sequence,
    };
  }
  if (source === 'typed') {
    return {
      source,
      prefix: [...inputs.typed],
      description: `${plural(inputs.typed.length, 'typed event')}`,
      continuation: null,
      sequence: null,
    };
  }
  return {
    source,
    prefix: [],
    description: 'nothing (the trajectory starts from the start time alone)',
    continuation: null,
    sequence: null,
  };
}

const isInt = (x: number) => Number.isInteger(x);

/** Whether the run starts at the set time: when asked, and always without events to continue. */
export function startIsSet(s: GenerateSettings, prefixLength: number): boolean {
  return s.fixStart || prefixLength === 0;
}

/** What is wrong with the settings for a prefix of `prefixLength` events (empty when nothing is). */
export function settingsErrors(s: GenerateSettings, prefixLength: number): string[] {
  const errors: string[] = [];
  if (s.mode === 'count' && !(isInt(s.count) && s.count >= 1 && s.count <= MAX_EVENTS))
    errors.push(`Events: a whole number from 1 to ${MAX_EVENTS}.`);
  if (s.mode === 'horizon' && !(isInt(s.days) && s.days >= MIN_DAYS && s.days <= MAX_DAYS))
    errors.push(`Days: a whole number from ${MIN_DAYS} to ${MAX_DAYS}.`);
  if (!(s.temperature > 0 && s.temperature <= MAX_TEMPERATURE))
    errors.push(`Temperature: above 0, at most ${MAX_TEMPERATURE}.`);
  if (!(isInt(s.topK) && s.topK >= 0)) errors.push('Top-k: a whole number, 0 for off.');
  if (!(s.topP > 0 && s.topP <= 1)) errors.push('Top-p: above 0, at most 1 (1 for off).');
  if (!(isInt(s.seed) && s.seed >= 0 && s.seed <= 0xffffffff)) errors.push('Seed: a whole number ≥ 0.');
  if (!(isInt(s.trajectories) && s.trajectories >= 1 && s.trajectories <= MAX_TRAJECTORIES))
    errors.push(`Trajectories: a whole number from 1 to ${MAX_TRAJECTORIES}.`);
  if (
    startIsSet(s, prefixLength) &&
    !(
      isInt(s.startWeekday) &&
      s.startWeekday >= 0 &&
      s.startWeekday < NUM_WEEKDAYS &&
      isInt(s.startSlot) &&
      s.startSlot >= 0 &&
      s.startSlot < NUM_SLOTS
    )
  ) {
    errors.push('Start time: a weekday and a 3-hour slot.');
  }
  return errors;
}

/** A run the settings describe: the generator's options and where its timeline is anchored. */
export interface RunPlan {
  options: Omit<GenerateOptions, 'signal'>;
  /** Time `elapsedSlots` counts from: the start time, else the prefix's last event. */
  anchor: WeekTime;
  startGiven: boolean;
}

export function planRun(
  s: GenerateSettings,
  prefix: readonly BehaviorEvent[],
): { plan: RunPlan; errors: [] } | { plan: null; errors: string[] } {
  const errors = settingsErrors(s, prefix.length);
  if (errors.length) return { plan: null, errors };
  const startGiven = startIsSet(s, prefix.length);
  const start = startGiven ? { weekday: s.startWeekday, slot: s.startSlot } : undefined;
  const last = prefix.at(-1)!;
  const sampling: SamplingOptions = { temperature: s.temperature };
  if (s.topK > 0) sampling.topK = s.topK;
  if (s.topP < 1) sampling.topP = s.topP;
  const options: Omit<GenerateOptions, 'signal'> = {
    prefix: [...prefix],
    maxEvents: s.mode === 'count' ? s.count : MAX_EVENTS,
    sampling,
    seed: s.seed,
  };
  if (start) options.start = start;
  if (s.mode === 'horizon') options.horizonSlots = s.days * NUM_SLOTS;
  return { plan: { options, anchor: start ?? { weekday: last.weekday, slot: last.slot }, startGiven }, errors: [] };
}

export const GENERATED = 'Generated';
export const CONTINUATION = 'Real continuation';
export const WHOLE_SEQUENCE = 'Real sequence';

/** What a run is compared with. */
export interface RunReference {
  source: GenerateSource;
  continuation: readonly BehaviorEvent[] | null;
  sequence: BehaviorSequence | null;
}

/**
 * The real series a run's generated events are compared with: for a replayed sequence its actual
 * continuation (when there is one) and the whole sequence; otherwise the real data loaded for
 * Replay (SmartThings test split, or the bundled demo sequences) overall.
 */
export function referenceCounts(
  run: RunReference,
  realData: { label: string; sequences: readonly BehaviorSequence[] } | null,
): SeriesCounts[] {
  if (run.source === 'replay' && run.sequence) {
    const out: SeriesCounts[] = [];
    if (run.continuation && run.continuation.length > 0) out.push(seriesCounts(CONTINUATION, run.continuation));
    out.push(seriesCounts(WHOLE_SEQUENCE, run.sequence.events));
    return out;
  }
  if (!realData) return [];
  return [
    seriesCounts(
      realData.label,
      realData.sequences.flatMap((s) => s.events),
    ),
  ];
}
