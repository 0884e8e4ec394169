/**
 * Behavior events: the unit BehaveGPT models. Pure data, shared by Node, the app and workers.
 */

export const NUM_WEEKDAYS = 7;
/** Three-hour slots of the day: 0 = 00–03 h, …, 7 = 21–24 h. */
export const NUM_SLOTS = 8;
export const WEEKDAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
/** The data has no place information; every event without one gets this location. */
export const UNKNOWN_LOCATION = '<unknown>';

export interface BehaviorEvent {
  /** `Device:command`, e.g. `Light:switch on`. */
  behavior: string;
  /** 0–6, Monday = 0. */
  weekday: number;
  /** 0–7, three-hour bins. */
  slot: number;
  location: string;
}

export type Split = 'train' | 'valid' | 'test';

export interface BehaviorSequence {
  id: string;
  split?: Split;
  events: BehaviorEvent[];
}

/** When the event to be predicted happens (and where): what a user can ask the model about. */
export interface EventContext {
  weekday: number;
  slot: number;
  location: string;
}

export function slotLabel(slot: number): string {
  const from = String(slot * 3).padStart(2, '0');
  const to = String(slot * 3 + 3).padStart(2, '0');
  return `${from}–${to} h`;
}

export function weekdayLabel(weekday: number): string {
  return WEEKDAY_NAMES[weekday] ?? `?${weekday}`;
}

/** The part of a behavior name before ':' (the device). */
export function deviceOf(behavior: string): string {
  const i = behavior.indexOf(':');
  return i < 0 ? behavior : behavior.slice(0, i);
}

export function isRefresh(behavior: string): boolean {
  return behavior.endsWith(':refresh refresh');
}
