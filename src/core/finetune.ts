/**
 * Pure helpers of on-device fine-tuning (the Fine-tune tab and its worker share them): the
 * train / validation / held-out split, what an imported log brings that the model does not know, and fitting the
 * log to the model's location vocabulary.
 */
import { summarizeLog, type LogSummary, type ParsedLog } from './data';
import { UNKNOWN_LOCATION, type BehaviorSequence } from './events';
import { createRng, shuffle } from './random';

/** Shares of the usable sequences that go to the validation and held-out parts. */
export interface SplitFractions {
  /** Picks the epoch that is kept (0: no validation part, the last epoch is kept). */
  validationFraction: number;
  /** Scores the base and the adapted model for the before/after report; never used in training or selection. */
  heldOutFraction: number;
  seed: number;
}

/** Below this many usable sequences there is no validation part (training would keep too few). */
export const MIN_SEQUENCES_FOR_VALIDATION = 5;

/** What splitting looks at: a sequence's length (BehaviorSequence, or a SequenceRef into a packed log). */
export interface Splittable {
  events: { readonly length: number };
}

export interface FinetuneSplit<S extends Splittable = BehaviorSequence> {
  /** Sequences trained on. */
  train: S[];
  /** Sequences that pick the best epoch (early stopping); empty when too few sequences. */
  validation: S[];
  /** Sequences of the before/after report only. */
  heldOut: S[];
  /** Sequences of fewer than two events: they have no target, so they are in no part. */
  unused: S[];
  /** How the kept epoch is chosen: lowest validation loss, or the last epoch when there is no validation part. */
  selection: 'validation' | 'last-epoch';
  /** Why the split is not three parts (shown in the summary), or null. */
  note: string | null;
}

/**
 * Splits an imported log into train / validation / held-out by whole sequences (never events
 * of one sequence), so nothing the report scores was seen in training or in choosing the
 * epoch, not even an earlier window of it. One seeded shuffle of the usable sequences
 * (two or more events): the first round(heldOutFraction × n) are held out (at least one), the
 * next round(validationFraction × n) are validation (at least one), the rest train (at least
 * one); file order is kept inside each part. Deterministic for a given seed, and the held-out
 * part does not depend on the validation share.
 *
 * Small imports: with fewer than MIN_SEQUENCES_FOR_VALIDATION usable sequences (or a
 * validation share of 0) there is no validation part: every epoch runs and the last one is
 * kept, and `note` says so. The held-out part is never used in its place. With fewer than two
 * usable sequences nothing can be held out: all are train, and a run cannot start.
 */
export function splitForFinetune<S extends Splittable = BehaviorSequence>(sequences: readonly S[], fractions: SplitFractions): FinetuneSplit<S> {
  const { validationFraction: fv, heldOutFraction: fh, seed } = fractions;
  if (!(fh > 0 && fh < 1)) throw new Error(`splitForFinetune: held-out fraction ${fh} is not in (0, 1)`);
  if (!(fv >= 0 && fv < 1 && fv + fh < 1)) throw new Error(`splitForFinetune: validation fraction ${fv} is not in [0, ${1 - fh})`);
  const usable = sequences.filter((s) => s.events.length >= 2);
  const unused = sequences.filter((s) => s.events.length < 2);
  const n = usable.length;
  if (n < 2) {
    return {
      train: usable,
      validation: [],
      heldOut: [],
      unused,
      selection: 'last-epoch',
      note: `${n} usable sequence${n === 1 ? '' : 's'}: at least two sequences of two or more events are needed, one to train on and one held out`,
    };
  }
  const heldCount = Math.min(n - 1, Math.max(1, Math.round(fh * n)));
  let validationCount = 0;
  let note: string | null = null;
  if (fv === 0) note = 'no validation part (switched off): every epoch runs and the last one is kept';
  else if (n < MIN_SEQUENCES_FOR_VALIDATION) {
    note =
      `only ${n} usable sequences, too few for a validation part (${MIN_SEQUENCES_FOR_VALIDATION} needed): every epoch runs and the last one ` +
      'is kept; the held-out part is used only for the before/after report';
  } else {
    validationCount = Math.min(n - heldCount - 1, Math.max(1, Math.round(fv * n)));
    if (validationCount === 0) note = 'the held-out share leaves no room for a validation part: every epoch runs and the last one is kept';
  }
  const order = shuffle(
    usable.map((_, i) => i),
    createRng(seed),
  );
  // Part of each usable sequence: 0 train, 1 validation, 2 held out (an array, not a Map: imports may have 10⁵ sequences).
  const part = new Uint8Array(n);
  order.slice(0, heldCount).forEach((i) => (part[i] = 2));
  order.slice(heldCount, heldCount + validationCount).forEach((i) => (part[i] = 1));
  return {
    train: usable.filter((_, i) => part[i] === 0),
    validation: usable.filter((_, i) => part[i] === 1),
    heldOut: usable.filter((_, i) => part[i] === 2),
    unused,
    selection: validationCount > 0 ? 'validation' : 'last-epoch',
    note,
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
