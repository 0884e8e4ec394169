/**
 * The generation study's design: which test (and valid) sequences are continued, the BehaveGPT
 * sampling variants chosen among on valid, the non-neural generators and the seeds. Pure.
 */
import type { BehaviorSequence } from '../../core/events';
import type { Continuation } from '../../core/realism';

export interface GenerationSetup {
  dataset: string;
  /** Events given to every generator; the rest of the sequence is what it must continue. */
  prefixLength: number;
  seeds: readonly number[];
  /** Only the first `limit` eligible sequences (quick checks; nothing is written then). */
  limit?: number;
}

export const TEMPERATURES = [1, 0.9, 0.8];
export const TOP_P = [1, 0.95, 0.9];
export const MARKOV = 'Markov-2 generator';
export const POPULARITY = 'Context-popularity sampler';
export const REFERENCE = 'Real continuations (reference)';
/** Resamples of the test sequences for the intervals of the target JSDs. */
export const BOOTSTRAP_RESAMPLES = 1000;

/** How BehaveGPT samples: with or without the shipped log correction, temperature, nucleus. */
export interface Sampling {
  corrected: boolean;
  temperature: number;
  topP: number;
}

export interface SamplingVariant {
  name: string;
  sampling: Sampling;
}

/**
 * Sampling variants chosen among on valid: raw at T 1, and (when the model ships a correction)
 * corrected at every temperature and top-p. The first two are also scored on test for reference.
 */
export function samplingVariants(modelName: string, hasCorrection: boolean): SamplingVariant[] {
  const raw = { name: `BehaveGPT (${modelName}), raw, T 1`, sampling: { corrected: false, temperature: 1, topP: 1 } };
  if (!hasCorrection) return [raw];
  const corrected = TEMPERATURES.flatMap((temperature) =>
    TOP_P.map((topP) => ({
      name: `BehaveGPT (${modelName}), corrected, T ${temperature}${topP < 1 ? `, top-p ${topP}` : ''}`,
      sampling: { corrected: true, temperature, topP },
    })),
  );
  return [raw, ...corrected];
}

/** Every sequence longer than the prefix, split into its prefix and the events to continue. */
export function continuations(split: readonly BehaviorSequence[], setup: GenerationSetup): Continuation[] {
  let eligible = split.filter((s) => s.events.length > setup.prefixLength);
  if (setup.limit !== undefined) eligible = eligible.slice(0, setup.limit);
  return eligible.map((s) => ({
    prefix: s.events.slice(0, setup.prefixLength),
    events: s.events.slice(setup.prefixLength),
  }));
}

/** The sampling seed of continuation `i`: on valid one fixed seed, on test one per study seed. */
export const validSeed = (i: number): number => 7_000_003 + i;
export const testSeed = (seed: number, i: number): number => seed * 1_000_003 + i;
