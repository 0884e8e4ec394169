/**
 * Time of events as the generator sees it: the data gives only weekday and 3-hour slot, so the
 * time to the next event is a slot delta 0–55 within the week (0 = same slot, 8 = same slot the
 * next day, …). Gaps of a week or more are not observable and wrap around. Pure.
 */
import { NUM_SLOTS, NUM_WEEKDAYS } from './events';

export const SLOTS_PER_WEEK = NUM_WEEKDAYS * NUM_SLOTS;
/** Classes of the time head: deltas 0 … 55 slots. */
export const NUM_SLOT_DELTAS = SLOTS_PER_WEEK;

export interface WeekTime {
  weekday: number;
  slot: number;
}

export function weekSlot(t: WeekTime): number {
  return t.weekday * NUM_SLOTS + t.slot;
}

/** Slots from `from` to `to`, forward within the week (0–55). */
export function slotDelta(from: WeekTime, to: WeekTime): number {
  return (((weekSlot(to) - weekSlot(from)) % SLOTS_PER_WEEK) + SLOTS_PER_WEEK) % SLOTS_PER_WEEK;
}

/** The weekday and slot `delta` slots after `t`. */
export function addSlots(t: WeekTime, delta: number): WeekTime {
  const s = (((weekSlot(t) + delta) % SLOTS_PER_WEEK) + SLOTS_PER_WEEK) % SLOTS_PER_WEEK;
  return { weekday: Math.floor(s / NUM_SLOTS), slot: s % NUM_SLOTS };
}
