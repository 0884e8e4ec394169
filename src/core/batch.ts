/**
 * Turns behavior sequences into the flat integer arrays the model consumes. Pure: shared by
 * Node training, evaluation, the app and the fine-tuning worker.
 *
 * Token layout of one example (T tokens): token 0 is <bos>, token t ≥ 1 is event t-1.
 * The target at token t is event t, and the model sees that event's weekday/slot/location
 * ("when is the next event"), so a user can ask what happens at a given time.
 */
import { BOS, PAD, type Vocabulary } from './vocab';
import { shuffle, type Rng } from './random';
import { slotDelta } from './time';
import { NUM_SLOTS, NUM_WEEKDAYS, type BehaviorEvent, type BehaviorSequence, type EventContext } from './events';

/** Index used for "unknown" weekday / slot (the <bos> token has no time). */
export const UNKNOWN_WEEKDAY = NUM_WEEKDAYS;
export const UNKNOWN_SLOT = NUM_SLOTS;
/** Target value of positions that carry no loss (padding, or positions outside the window's new part). */
export const IGNORE = -1;

export interface Batch {
  batchSize: number;
  length: number;
  behaviors: Int32Array;
  weekdays: Int32Array;
  slots: Int32Array;
  locations: Int32Array;
  targetWeekdays: Int32Array;
  targetSlots: Int32Array;
  targetLocations: Int32Array;
  /** Behavior id to predict at each token, or IGNORE. */
  targets: Int32Array;
}

/** One training/evaluation example: a window of a sequence and which of its targets count. */
export interface Example {
  events: BehaviorEvent[];
  /** Targets at token index < firstTarget are ignored (already scored in an earlier window). */
  firstTarget: number;
  sequenceId: string;
  /** Position in the full sequence of this window's first event. */
  offset: number;
}

/**
 * Cuts sequences into windows of at most `contextLength` events. Every event is a target in
 * exactly one window; windows after the first keep `contextLength - stride` events of history.
 */
export function toExamples(
  sequences: readonly BehaviorSequence[],
  contextLength: number,
  stride = Math.ceil(contextLength / 2),
): Example[] {
  const out: Example[] = [];
  for (const seq of sequences) {
    const n = seq.events.length;
    if (n === 0) continue;
    if (n <= contextLength) {
      out.push({ events: seq.events, firstTarget: 0, sequenceId: seq.id, offset: 0 });
      continue;
    }
    out.push({ events: seq.events.slice(0, contextLength), firstTarget: 0, sequenceId: seq.id, offset: 0 });
    let covered = contextLength;
    while (covered < n) {
      const end = Math.min(n, covered + stride);
      const start = end - contextLength;
      out.push({
        events: seq.events.slice(start, end),
        firstTarget: covered - start,
        sequenceId: seq.id,
        offset: start,
      });
      covered = end;
    }
  }
  return out;
}

export function encodeBatch(
  examples: readonly Example[],
  behaviors: Vocabulary,
  locations: Vocabulary,
  length = Math.max(1, ...examples.map((e) => e.events.length)),
): Batch {
  const B = examples.length;
  const size = B * length;
  const batch: Batch = {
    batchSize: B,
    length,
    behaviors: new Int32Array(size).fill(behaviors.id(PAD)),
    weekdays: new Int32Array(size).fill(UNKNOWN_WEEKDAY),
    slots: new Int32Array(size).fill(UNKNOWN_SLOT),
    locations: new Int32Array(size).fill(0),
    targetWeekdays: new Int32Array(size).fill(UNKNOWN_WEEKDAY),
    targetSlots: new Int32Array(size).fill(UNKNOWN_SLOT),
    targetLocations: new Int32Array(size).fill(0),
    targets: new Int32Array(size).fill(IGNORE),
  };
  const bos = behaviors.id(BOS);
  examples.forEach((ex, b) => {
    if (ex.events.length > length)
      throw new Error(`encodeBatch: example of ${ex.events.length} events exceeds length ${length}`);
    const row = b * length;
    batch.behaviors[row] = bos;
    ex.events.forEach((e, t) => {
      const i = row + t;
      if (t + 1 < length) {
        batch.behaviors[i + 1] = behaviors.id(e.behavior);
        batch.weekdays[i + 1] = e.weekday;
        batch.slots[i + 1] = e.slot;
        batch.locations[i + 1] = locations.id(e.location);
      }
      batch.targetWeekdays[i] = e.weekday;
      batch.targetSlots[i] = e.slot;
      batch.targetLocations[i] = locations.id(e.location);
      const id = behaviors.id(e.behavior);
      batch.targets[i] = t >= ex.firstTarget && !behaviors.isSpecial(id) ? id : IGNORE;
    });
  });
  return batch;
}

/**
 * The query "what comes after `history`, at time `next`": the last `contextLength - 1` events of
 * history plus a placeholder for the predicted event. The prediction is read at token
 * `history.length` (returned as `position`).
 */
export function encodeQuery(
  history: readonly BehaviorEvent[],
  next: EventContext,
  behaviors: Vocabulary,
  locations: Vocabulary,
  contextLength: number,
): { batch: Batch; position: number } {
  const kept = history.slice(Math.max(0, history.length - (contextLength - 1)));
  // The placeholder's behavior is never read: token t only sees events before t.
  const events = [...kept, { behavior: PAD, ...next }];
  const batch = encodeBatch(
    [{ events, firstTarget: events.length, sequenceId: 'query', offset: 0 }],
    behaviors,
    locations,
    events.length,
  );
  return { batch, position: kept.length };
}

/**
 * Targets of the time head: at each token that has a previous event and a counted target, the
 * slot delta from the previous event to the target event (core/time.ts); IGNORE elsewhere
 * (<bos>, padding, already-scored window positions).
 */
export function timeTargets(batch: Batch): Int32Array {
  const out = new Int32Array(batch.targets.length).fill(IGNORE);
  for (let i = 0; i < out.length; i++) {
    if (
      batch.targets[i] === IGNORE ||
      batch.weekdays[i] === UNKNOWN_WEEKDAY ||
      batch.targetWeekdays[i] === UNKNOWN_WEEKDAY
    )
      continue;
    out[i] = slotDelta(
      { weekday: batch.weekdays[i], slot: batch.slots[i] },
      { weekday: batch.targetWeekdays[i], slot: batch.targetSlots[i] },
    );
  }
  return out;
}

/** Groups examples into batches of similar length (less padding), in a shuffled order. */
export function bucketBatches(examples: readonly Example[], batchSize: number, rng?: Rng): Example[][] {
  const order = examples.map((_, i) => i);
  // Shuffle first so equal lengths are mixed, then a stable sort by length makes buckets.
  if (rng) shuffle(order, rng);
  order.sort((a, b) => examples[a].events.length - examples[b].events.length);
  const batches: Example[][] = [];
  for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize).map((j) => examples[j]));
  if (rng) shuffle(batches, rng);
  return batches;
}
