/**
 * A parsed log in columns: typed arrays for the events and one string table per kind of name.
 * An import is parsed in a worker and reaches the page in this form, so a log of millions of
 * events costs the page a few transferred buffers (no event objects to clone, allocate or
 * collect); sequences are turned back into objects only where they are used (the training
 * worker). SequenceRef stands for a sequence where only its id, split and length matter (the
 * split of an import into train / validation / held-out).
 */
import type { ParsedLog } from './data';
import type { BehaviorSequence, Split } from './events';

const SPLIT_CODES: readonly (Split | undefined)[] = [undefined, 'train', 'valid', 'test'];

export interface PackedLog {
  format: ParsedLog['format'];
  events: number;
  /** Distinct behavior names, sorted: also the table `behavior` indexes. */
  behaviors: string[];
  warnings: string[];
  /** Distinct locations: the table `location` indexes. */
  locations: string[];
  /** Sequence ids in file order. */
  ids: string[];
  /** Split of each sequence: 0 none, 1 train, 2 valid, 3 test. */
  splits: Uint8Array;
  /** Sequence i holds events starts[i] … starts[i + 1] − 1. */
  starts: Uint32Array;
  behavior: Uint32Array;
  weekday: Uint8Array;
  slot: Uint8Array;
  location: Uint32Array;
}

/** A sequence by its place in a packed log: what splitting needs, without the events. */
export interface SequenceRef {
  index: number;
  id: string;
  split?: Split;
  events: { readonly length: number };
}

export function packLog(log: ParsedLog): PackedLog {
  const behaviorIndex = new Map(log.behaviors.map((b, i) => [b, i]));
  const locationIndex = new Map<string, number>();
  const n = log.sequences.length;
  const starts = new Uint32Array(n + 1);
  const splits = new Uint8Array(n);
  const behavior = new Uint32Array(log.events);
  const weekday = new Uint8Array(log.events);
  const slot = new Uint8Array(log.events);
  const location = new Uint32Array(log.events);
  let e = 0;
  log.sequences.forEach((s, i) => {
    starts[i] = e;
    splits[i] = SPLIT_CODES.indexOf(s.split);
    for (const event of s.events) {
      behavior[e] = behaviorIndex.get(event.behavior)!;
      weekday[e] = event.weekday;
      slot[e] = event.slot;
      let l = locationIndex.get(event.location);
      if (l === undefined) {
        l = locationIndex.size;
        locationIndex.set(event.location, l);
      }
      location[e] = l;
      e++;
    }
  });
  starts[n] = e;
  return {
    format: log.format,
    events: log.events,
    behaviors: log.behaviors,
    warnings: log.warnings,
    locations: [...locationIndex.keys()],
    ids: log.sequences.map((s) => s.id),
    splits,
    starts,
    behavior,
    weekday,
    slot,
    location,
  };
}

/** Events per behavior name (what core/baselines' behaviorCounts gives for sequences). */
export function packedBehaviorCounts(log: PackedLog): Map<string, number> {
  const counts = new Uint32Array(log.behaviors.length);
  for (let e = 0; e < log.behavior.length; e++) counts[log.behavior[e]]++;
  return new Map(log.behaviors.map((name, i) => [name, counts[i]] as [string, number]).filter(([, n]) => n > 0));
}

/** The buffers to transfer with a packed log (postMessage's transfer list). */
export function packedBuffers(log: PackedLog): ArrayBuffer[] {
  return [log.splits, log.starts, log.behavior, log.weekday, log.slot, log.location].map(
    (a) => a.buffer as ArrayBuffer,
  );
}

export function sequenceRefs(log: PackedLog): SequenceRef[] {
  return log.ids.map((id, index) => {
    const split = SPLIT_CODES[log.splits[index]];
    const length = log.starts[index + 1] - log.starts[index];
    return split ? { index, id, split, events: { length } } : { index, id, events: { length } };
  });
}

export function unpackSequence(log: PackedLog, index: number): BehaviorSequence {
  const events = [];
  for (let e = log.starts[index]; e < log.starts[index + 1]; e++) {
    events.push({
      behavior: log.behaviors[log.behavior[e]],
      weekday: log.weekday[e],
      slot: log.slot[e],
      location: log.locations[log.location[e]],
    });
  }
  const split = SPLIT_CODES[log.splits[index]];
  return split ? { id: log.ids[index], split, events } : { id: log.ids[index], events };
}

/** The sequences `refs` point at, as objects, in the order given. */
export function unpackSequences(log: PackedLog, refs: readonly Pick<SequenceRef, 'index'>[]): BehaviorSequence[] {
  return refs.map((r) => unpackSequence(log, r.index));
}
