/**
 * The pretraining recipe shared by the pretrain command, the experiment runners and the
 * fine-tuning worker: vocabularies from the training split, a config sized from them.
 */
import { BOS, PAD, UNK, Vocabulary } from '../core/vocab';
import { UNKNOWN_LOCATION, type BehaviorSequence } from '../core/events';
import { DEFAULT_CONFIG, type BehaveGPTConfig } from '../model/behavegpt';

export function buildVocabularies(train: readonly BehaviorSequence[]): { behaviors: Vocabulary; locations: Vocabulary } {
  const behaviors = Vocabulary.fromNames(train.flatMap((s) => s.events.map((e) => e.behavior)), [PAD, BOS, UNK]);
  // The unknown location is always present: queries without a place use it.
  const locations = Vocabulary.fromNames(train.flatMap((s) => s.events.map((e) => e.location)), []).extend([UNKNOWN_LOCATION]);
  return { behaviors, locations };
}

export function buildConfig(behaviors: Vocabulary, locations: Vocabulary, overrides: Partial<BehaveGPTConfig> = {}): BehaveGPTConfig {
  return {
    ...DEFAULT_CONFIG,
    ...overrides,
    numBehaviors: behaviors.size,
    numLocations: locations.size,
    specialBehaviorIds: [PAD, BOS, UNK].map((t) => behaviors.id(t)),
  };
}
