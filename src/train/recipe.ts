/**
 * The pretraining recipe shared by the pretrain command, the experiment runners and the
 * fine-tuning worker: vocabularies from the training split, a config sized from them.
 */
import { BOS, PAD, UNK, Vocabulary } from '../core/vocab';
import { UNKNOWN_LOCATION, type BehaviorSequence } from '../core/events';
import { DEFAULT_CONFIG, type BehaveGPTConfig } from '../model/behavegpt';

export function buildVocabularies(train: readonly BehaviorSequence[]): {
  behaviors: Vocabulary;
  locations: Vocabulary;
} {
  const behaviors = Vocabulary.fromNames(
    train.flatMap((s) => s.events.map((e) => e.behavior)),
    [PAD, BOS, UNK],
  );
  // The unknown location is always present: queries without a place use it.
  const locations = Vocabulary.fromNames(
    train.flatMap((s) => s.events.map((e) => e.location)),
    [],
  ).extend([UNKNOWN_LOCATION]);
  return { behaviors, locations };
}

export function buildConfig(
  behaviors: Vocabulary,
  locations: Vocabulary,
  overrides: Partial<BehaveGPTConfig> = {},
): BehaveGPTConfig {
  return {
    ...DEFAULT_CONFIG,
    ...overrides,
    numBehaviors: behaviors.size,
    numLocations: locations.size,
    specialBehaviorIds: [PAD, BOS, UNK].map((t) => behaviors.id(t)),
  };
}

/**
 * Model sizes, 3.9k → 142k non-embedding parameters (36×). "m" is DEFAULT_CONFIG (no
 * overrides). Widths keep the weekday/slot streams; US has one place, so small models drop its
 * stream.
 */
export const SIZES: Record<string, Partial<BehaveGPTConfig>> = {
  xs: {
    behaviorDim: 8,
    weekdayDim: 4,
    slotDim: 4,
    locationDim: 0,
    targetDim: 4,
    numLayers: 1,
    numHeads: 2,
    headHidden: 16,
  },
  s: {
    behaviorDim: 24,
    weekdayDim: 4,
    slotDim: 4,
    locationDim: 0,
    targetDim: 8,
    numLayers: 1,
    numHeads: 2,
    headHidden: 48,
  },
  'm-': {
    behaviorDim: 28,
    weekdayDim: 8,
    slotDim: 8,
    locationDim: 4,
    targetDim: 8,
    numLayers: 1,
    numHeads: 2,
    headHidden: 64,
  },
  m: {},
};

/**
 * The shipped architecture: the scaling grid's lowest valid loss (docs/SCALING.md), and the size
 * at which the next-behavior evaluation meets its targets (docs/RESULTS.md).
 */
export const SHIPPED_SIZE = 's';

/** The architecture overrides of a scaling size named on the command line (`--size`). */
export function sizeOverrides(name: string): Partial<BehaveGPTConfig> {
  if (!(name in SIZES)) throw new Error(`--size: "${name}" is not one of ${Object.keys(SIZES).join(', ')}`);
  return SIZES[name];
}

/**
 * What a run spec carries for a scaling size, plus `extra` overrides: nothing for "m" with no
 * extras (DEFAULT_CONFIG), so run ids and records of such runs are as before sizes existed.
 */
export function sizeConfig(name: string, extra: Partial<BehaveGPTConfig> = {}): { config?: Partial<BehaveGPTConfig> } {
  const config = { ...sizeOverrides(name), ...extra };
  return Object.keys(config).length ? { config } : {};
}
