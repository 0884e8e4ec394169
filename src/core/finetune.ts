/**
 * Pure helpers of on-device fine-tuning (the Fine-tune tab and its worker share them): the
 * held-out split, what an imported log brings that the model does not know, and fitting the
 * log to the model's location vocabulary.
 */
import { summarizeLog, type LogSummary, type ParsedLog } from './data';
import { UNKNOWN_LOCATION, type BehaviorSequence } from './events';
import { createRng, shuffle } from './random';

export interface SequenceSplit {
  train: BehaviorSequence[];
  heldOut: BehaviorSequence[];
}

/**
 * Splits whole sequences (never events of one sequence) into train and held-out, so nothing
 * the evaluation scores was seen during training, not even an earlier window of it.
 * Deterministic for a given seed; file order is kept inside each part. The held-out part gets
 * round(fraction × n) sequences, at least one, and train keeps at least one; with fewer than
 * two sequences there is nothing to hold out and everything is train.
 */
export function splitBySequence(sequences: readonly BehaviorSequence[], fraction: number, seed = 0): SequenceSplit {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`splitBySequence: fraction ${fraction} is not in (0, 1)`);
  const n = sequences.length;
  if (n < 2) return { train: [...sequences], heldOut: [] };
  const count = Math.min(n - 1, Math.max(1, Math.round(fraction * n)));
  const order = shuffle(
    sequences.map((_, i) => i),
    createRng(seed),
  );
  const held = new Set(order.slice(0, count));
  return {
    train: sequences.filter((_, i) => !held.has(i)),
    heldOut: sequences.filter((_, i) => held.has(i)),
  };
}

/** Behaviors of the log the model has never seen (matched by exact name), sorted. */
export function newBehaviors(behaviors: Iterable<string>, known: { has(name: string): boolean }): string[] {
  return [...new Set(behaviors)].filter((b) => !known.has(b)).sort();
}

export interface ImportSummary extends LogSummary {
  /** Names of behaviors the model does not know (they will be added to its vocabulary). */
  newBehaviors: string[];
  /** Events whose behavior is new. */
  newBehaviorEvents: number;
  /** Sequences long enough to train or evaluate on (at least two events). */
  usableSequences: number;
}

export function summarizeImport(log: ParsedLog, known: { has(name: string): boolean }): ImportSummary {
  const added = newBehaviors(log.behaviors, known);
  const addedSet = new Set(added);
  let newBehaviorEvents = 0;
  for (const s of log.sequences) for (const e of s.events) if (addedSet.has(e.behavior)) newBehaviorEvents++;
  return {
    ...summarizeLog(log),
    newBehaviors: added,
    newBehaviorEvents,
    usableSequences: log.sequences.filter((s) => s.events.length >= 2).length,
  };
}

/**
 * Locations the model does not know become UNKNOWN_LOCATION: the location vocabulary is not
 * extended (the shipped model has no location stream; its target-location table knows only
 * the unknown place), so an unfamiliar place reads as "no place given".
 */
export function fitLocations(sequences: readonly BehaviorSequence[], known: { has(name: string): boolean }): BehaviorSequence[] {
  return sequences.map((s) =>
    s.events.every((e) => known.has(e.location))
      ? s
      : { ...s, events: s.events.map((e) => (known.has(e.location) ? e : { ...e, location: UNKNOWN_LOCATION })) },
  );
}
