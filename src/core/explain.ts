/**
 * Explanations of a prediction, the parts that need no model: how an event is removed, which
 * events each method of the deletion test picks, the week grid of "when" (the time head's
 * slot deltas as weekday × slot cells, the joint "next event is X at time t" and its top
 * pairs), and the per-behavior week distributions the heatmap check compares. Pure.
 */
import { NUM_SLOTS, type BehaviorEvent } from './events';
import type { Rng } from './random';
import { addSlots, SLOTS_PER_WEEK, weekSlot, type WeekTime } from './time';
import { UNK } from './vocab';

/**
 * How an event is removed from a history, the same for every method and for the deletion test:
 * - `drop`: the event is taken out; later events move up one position (the history as if it
 *   had not happened);
 * - `unknown`: its behavior becomes `<unk>`, its weekday, slot and location stay.
 */
export type Removal = 'drop' | 'unknown';
export const REMOVALS: readonly Removal[] = ['drop', 'unknown'];

/**
 * The removal the app and `npm run explain-eval` use, chosen on the US valid split (never on
 * test). With one random event of the window removed, the true next event keeps a mean
 * log-probability of −1.708 under `drop` and −2.180 under `unknown` (whole history: −1.507;
 * 13,097 positions, `npm run explain-eval -- --phase choose`): a dropped event leaves a history
 * like those the model was trained on, while `<unk>` never occurs in US train, so its embedding
 * is untrained and the replaced input is one the model has never seen.
 */
export const DEFAULT_REMOVAL: Removal = 'drop';

/** `history` with the events at `indices` removed (`drop`) or made `<unk>` (`unknown`). */
export function removeEvents(
  history: readonly BehaviorEvent[],
  indices: Iterable<number>,
  removal: Removal,
): BehaviorEvent[] {
  const removed = new Set(indices);
  for (const i of removed)
    if (!(Number.isInteger(i) && i >= 0 && i < history.length))
      throw new Error(`removeEvents: index ${i} is outside the history (0–${history.length - 1})`);
  if (removal === 'drop') return history.filter((_, i) => !removed.has(i));
  return history.map((e, i) => (removed.has(i) ? { ...e, behavior: UNK } : e));
}

// --- Which events a method removes ----------------------------------------------------------

/** Indices of the k highest scores, highest first; equal scores go to the more recent event. */
export function topEvents(scores: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || b - a);
  return order.slice(0, k);
}

/** The k most recent of n events, most recent first. */
export function recentEvents(n: number, k: number): number[] {
  return Array.from({ length: Math.min(k, n) }, (_, i) => n - 1 - i);
}

/** k distinct indices of n, uniformly at random (a partial Fisher–Yates shuffle). */
export function randomEvents(n: number, k: number, rng: Rng): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const m = Math.min(k, n);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rng() * (n - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, m);
}

// --- The week grid ------------------------------------------------------------------------------

/** Weekday × 3-hour-slot cells of a week, weekday-major (cell = weekday · 8 + slot, as core/time.ts's weekSlot). */
export const WEEK_CELLS = SLOTS_PER_WEEK;

export function cellTime(cell: number): WeekTime {
  return { weekday: Math.floor(cell / NUM_SLOTS), slot: cell % NUM_SLOTS };
}

/**
 * The time head's distribution over slot deltas (0 … 55 after the last event) as a distribution
 * over the week's cells: delta d lands on the cell d slots after `last`. One-to-one, so nothing
 * is lost; a gap of a week or more is not observable (core/time.ts) and shares its cell.
 */
export function deltasToCells(deltaProbabilities: ArrayLike<number>, last: WeekTime): Float64Array {
  if (deltaProbabilities.length !== WEEK_CELLS)
    throw new Error(`deltasToCells: ${deltaProbabilities.length} deltas, expected ${WEEK_CELLS}`);
  const cells = new Float64Array(WEEK_CELLS);
  for (let d = 0; d < WEEK_CELLS; d++) cells[weekSlot(addSlots(last, d))] += deltaProbabilities[d];
  return cells;
}

export interface JointEntry {
  /** Behavior id. */
  behavior: number;
  cell: number;
  probability: number;
}

/**
 * The k most likely (behavior, cell) pairs of the joint P(next is b at t) = P(t) · P(b | t),
 * where `time[t]` is the time head's P(next event at t) and `conditional[t][b]` the behavior
 * head's P(b | next event at t). Ties: lower cell, then lower id.
 */
export function topJoint(
  time: ArrayLike<number>,
  conditional: readonly ArrayLike<number>[],
  k: number,
  exclude: ReadonlySet<number> = new Set(),
): JointEntry[] {
  if (conditional.length !== time.length)
    throw new Error(`topJoint: ${conditional.length} cells of behaviors, ${time.length} of time`);
  const best: JointEntry[] = [];
  const worse = (a: JointEntry, b: JointEntry) =>
    a.probability < b.probability ||
    (a.probability === b.probability && (a.cell > b.cell || (a.cell === b.cell && a.behavior > b.behavior)));
  for (let cell = 0; cell < time.length; cell++) {
    const row = conditional[cell];
    for (let b = 0; b < row.length; b++) {
      if (exclude.has(b)) continue;
      const entry = { behavior: b, cell, probability: time[cell] * row[b] };
      if (best.length === k && !worse(best[k - 1], entry)) continue;
      let i = best.length < k ? best.length : k - 1;
      best[i] = entry;
      while (i > 0 && worse(best[i - 1], best[i])) {
        [best[i - 1], best[i]] = [best[i], best[i - 1]];
        i--;
      }
    }
  }
  return best;
}

/** A vector over cells as a count table for core/realism.ts's jensenShannon (keys: cell indices). */
export function cellTable(values: ArrayLike<number>): Map<string, number> {
  const table = new Map<string, number>();
  for (let i = 0; i < values.length; i++) if (values[i] > 0) table.set(String(i), values[i]);
  return table;
}
