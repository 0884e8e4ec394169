/** Small fixtures shared by the tests: a toy vocabulary, configs and sequences. */
import { BOS, PAD, UNK, Vocabulary } from '../src/core/vocab';
import { UNKNOWN_LOCATION, type BehaviorEvent } from '../src/core/events';
import { DEFAULT_CONFIG, type BehaveGPTConfig } from '../src/model/behavegpt';

export const NAMES = [
  'Light:switch on',
  'Light:switch off',
  'Television:switch on',
  'Television:switch off',
  'Blind:windowShade open',
  'Fan:switch on',
];
export const behaviors = Vocabulary.fromNames(NAMES, [PAD, BOS, UNK]);
export const locations = new Vocabulary([UNKNOWN_LOCATION, 'home', 'office']);

export function toyConfig(overrides: Partial<BehaveGPTConfig> = {}): BehaveGPTConfig {
  return {
    ...DEFAULT_CONFIG,
    numBehaviors: behaviors.size,
    numLocations: locations.size,
    specialBehaviorIds: [0, 1, 2],
    contextLength: 16,
    behaviorDim: 16,
    weekdayDim: 4,
    slotDim: 4,
    locationDim: 4,
    targetDim: 4,
    numHeads: 2,
    headHidden: 16,
    dropout: 0,
    ...overrides,
  };
}

export function event(i: number, overrides: Partial<BehaviorEvent> = {}): BehaviorEvent {
  return {
    behavior: NAMES[i % NAMES.length],
    weekday: i % 7,
    slot: (i * 3) % 8,
    location: UNKNOWN_LOCATION,
    ...overrides,
  };
}

export function events(n: number, offset = 0): BehaviorEvent[] {
  return Array.from({ length: n }, (_, i) => event(i + offset));
}
