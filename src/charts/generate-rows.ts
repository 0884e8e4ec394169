/**
 * What the Generate charts plot, without React: where each event of a trajectory sits on the
 * days × 3-hour-slots timeline, and the shares per device, weekday and slot that compare
 * generated events with real ones. Pure; the specs that draw these rows are in generate-charts.ts.
 */
import { NUM_SLOTS, NUM_WEEKDAYS, deviceOf, slotLabel, weekdayLabel, type BehaviorEvent } from '../core/events';
import { slotDelta, type WeekTime } from '../core/time';

/** Prefix events the timeline shows before the generated ones: at most this many, … */
export const TIMELINE_PREFIX_EVENTS = 32;
/** … and none more than this many days before the start. */
export const TIMELINE_PREFIX_DAYS = 7;

/** An event of a series: what the charts read of it. */
export type TimedBehavior = Pick<BehaviorEvent, 'behavior' | 'weekday' | 'slot'>;

/** What the timeline reads of a generated event (model/generate's GeneratedEvent has all of it). */
export interface GeneratedMark extends TimedBehavior {
  /** 0-based index among the generated events. */
  index: number;
  /** 3-hour slots from the anchor. */
  elapsedSlots: number;
  probability: number;
}

/** One mark of the timeline chart. */
export interface TimelineRow {
  kind: 'prefix' | 'generated';
  /** Index among the generated events, or the event's step in the prefix. */
  index: number;
  behavior: string;
  device: string;
  weekday: number;
  slot: number;
  weekdayName: string;
  slotName: string;
  /** Slots from the anchor's time (negative before it). */
  offset: number;
  /** Day relative to the anchor's day (0), negative for earlier days. */
  day: number;
  /** Position in the chart: the cell (day, slot) with several events laid out in a small grid. */
  x: number;
  y: number;
  /** Probability of the behavior under the model (generated events only). */
  probability: number | null;
  /** Accessible description of the mark. */
  label: string;
}

/** Day of an event `offset` slots after a time at `anchorSlot` (its slot of the day), relative to that day. */
export function dayOf(anchorSlot: number, offset: number): number {
  return Math.floor((anchorSlot + offset) / NUM_SLOTS);
}

/** Weekday of relative day `day` when day 0 is `anchorWeekday`. */
export function weekdayOfDay(anchorWeekday: number, day: number): number {
  return (((anchorWeekday + day) % NUM_WEEKDAYS) + NUM_WEEKDAYS) % NUM_WEEKDAYS;
}

/** Offsets (slots from the anchor) of prefix events, walking back from the anchor one gap at a time. */
export function prefixOffsets(prefix: readonly WeekTime[], anchor: WeekTime, startGiven: boolean): number[] {
  const out = new Array<number>(prefix.length);
  if (prefix.length === 0) return out;
  out[prefix.length - 1] = startGiven ? -slotDelta(prefix[prefix.length - 1], anchor) : 0;
  for (let i = prefix.length - 2; i >= 0; i--) out[i] = out[i + 1] - slotDelta(prefix[i], prefix[i + 1]);
  return out;
}

/** Places `n` marks of one cell on a ceil(√n)-column grid inside the cell (centre ± 0.4). */
export function cellPosition(k: number, n: number): { dx: number; dy: number } {
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const c = k % cols;
  const r = Math.floor(k / cols);
  return { dx: -0.4 + (0.8 * (c + 0.5)) / cols, dy: -0.4 + (0.8 * (r + 0.5)) / rows };
}

export interface TimelineInput {
  prefix: readonly BehaviorEvent[];
  generated: readonly GeneratedMark[];
  anchor: WeekTime;
  startGiven: boolean;
  maxPrefixEvents?: number;
  maxPrefixDays?: number;
}

/** Timeline marks: the last prefix events (lighter), then the generated events. */
export function timelineRows(input: TimelineInput): TimelineRow[] {
  const {
    prefix,
    generated,
    anchor,
    startGiven,
    maxPrefixEvents = TIMELINE_PREFIX_EVENTS,
    maxPrefixDays = TIMELINE_PREFIX_DAYS,
  } = input;
  const offsets = prefixOffsets(prefix, anchor, startGiven);
  const base: Omit<TimelineRow, 'x' | 'y'>[] = [];
  const mark = (
    kind: 'prefix' | 'generated',
    index: number,
    e: TimedBehavior,
    offset: number,
    probability: number | null,
  ): Omit<TimelineRow, 'x' | 'y'> => {
    const day = dayOf(anchor.slot, offset);
    return {
      kind,
      index,
      behavior: e.behavior,
      device: deviceOf(e.behavior),
      weekday: e.weekday,
      slot: e.slot,
      weekdayName: weekdayLabel(e.weekday),
      slotName: slotLabel(e.slot),
      offset,
      day,
      probability,
      label: `${kind} event ${index}: ${e.behavior}, ${weekdayLabel(e.weekday)} ${slotLabel(e.slot)} (day ${day})`,
    };
  };
  for (let i = Math.max(0, prefix.length - maxPrefixEvents); i < prefix.length; i++) {
    if (dayOf(anchor.slot, offsets[i]) < -maxPrefixDays) continue;
    base.push(mark('prefix', i, prefix[i], offsets[i], null));
  }
  for (const e of generated) base.push(mark('generated', e.index, e, e.elapsedSlots, e.probability));
  // Several events in one cell: a small grid in order of occurrence.
  const cells = new Map<string, number[]>();
  base.forEach((r, i) => {
    const key = `${r.day}:${r.slot}`;
    const list = cells.get(key);
    if (list) list.push(i);
    else cells.set(key, [i]);
  });
  const rows = base as TimelineRow[];
  for (const members of cells.values()) {
    members.forEach((i, k) => {
      const { dx, dy } = cellPosition(k, members.length);
      rows[i].x = rows[i].day + dx;
      rows[i].y = rows[i].slot + dy;
    });
  }
  return rows;
}

/** The days a timeline spans (at least the anchor day). */
export function dayRange(rows: readonly Pick<TimelineRow, 'day'>[]): [number, number] {
  let lo = 0;
  let hi = 0;
  for (const r of rows) {
    if (r.day < lo) lo = r.day;
    if (r.day > hi) hi = r.day;
  }
  return [lo, hi];
}

// ---------------------------------------------------------------------------------------------
// Distributions: generated vs real

/**
 * What the comparison charts need of a series of events: counts per device, weekday and slot.
 * Computed once for a large real reference, and again for the generated events as they stream.
 */
export interface SeriesCounts {
  name: string;
  total: number;
  devices: Map<string, number>;
  weekdays: number[];
  slots: number[];
}

export function seriesCounts(name: string, events: readonly TimedBehavior[]): SeriesCounts {
  const devices = new Map<string, number>();
  const weekdays = new Array<number>(NUM_WEEKDAYS).fill(0);
  const slots = new Array<number>(NUM_SLOTS).fill(0);
  for (const e of events) {
    const d = deviceOf(e.behavior);
    devices.set(d, (devices.get(d) ?? 0) + 1);
    if (e.weekday >= 0 && e.weekday < NUM_WEEKDAYS) weekdays[e.weekday]++;
    if (e.slot >= 0 && e.slot < NUM_SLOTS) slots[e.slot]++;
  }
  return { name, total: events.length, devices, weekdays, slots };
}

/** One bar of a grouped bar chart: a series' share of a category. */
export interface ShareRow {
  series: string;
  category: string;
  /** Position of the category on the axis. */
  order: number;
  count: number;
  /** count / events of the series (0 for an empty series). */
  share: number;
  /** Events in the series. */
  total: number;
}

/** The device chart's last bar: every device outside the top ones (SmartThings has a device named "Other"). */
export const OTHER = 'all other devices';

function rowsOf(s: SeriesCounts, categories: readonly string[], counts: readonly number[]): ShareRow[] {
  return categories.map((category, order) => ({
    series: s.name,
    category,
    order,
    count: counts[order],
    share: s.total > 0 ? counts[order] / s.total : 0,
    total: s.total,
  }));
}

/**
 * Devices ordered by their largest share in any series (ties by name), the first `top` kept:
 * the categories of the device chart.
 */
export function topDevices(series: readonly SeriesCounts[], top: number): string[] {
  const best = new Map<string, number>();
  for (const s of series) {
    if (s.total === 0) continue;
    for (const [device, n] of s.devices) best.set(device, Math.max(best.get(device) ?? 0, n / s.total));
  }
  return [...best.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, top)
    .map(([d]) => d);
}

export const DEVICE_CATEGORIES = 10;

/** Device shares per series: the `top` devices, then OTHER for the rest (when any series has some). */
export function deviceShares(series: readonly SeriesCounts[], top = DEVICE_CATEGORIES): ShareRow[] {
  const devices = topDevices(series, top);
  const kept = new Set(devices);
  const rest = series.some((s) => [...s.devices.keys()].some((d) => !kept.has(d)));
  const categories = rest ? [...devices, OTHER] : devices;
  return series.flatMap((s) => {
    const counts = devices.map((d) => s.devices.get(d) ?? 0);
    if (rest) counts.push(s.total - counts.reduce((a, b) => a + b, 0));
    return rowsOf(s, categories, counts);
  });
}

export const SLOT_NAMES = Array.from({ length: NUM_SLOTS }, (_, i) => slotLabel(i));
export const WEEKDAY_CATEGORIES = Array.from({ length: NUM_WEEKDAYS }, (_, i) => weekdayLabel(i));

export function slotShares(series: readonly SeriesCounts[]): ShareRow[] {
  return series.flatMap((s) => rowsOf(s, SLOT_NAMES, s.slots));
}

export function weekdayShares(series: readonly SeriesCounts[]): ShareRow[] {
  return series.flatMap((s) => rowsOf(s, WEEKDAY_CATEGORIES, s.weekdays));
}

/** Total variation distance between two series' distributions in share rows (½ Σ |p − q|); null if either is empty or absent. */
export function totalVariation(rows: readonly ShareRow[], a: string, b: string): number | null {
  const pa = rows.filter((r) => r.series === a);
  const pb = rows.filter((r) => r.series === b);
  if (!pa.length || !pb.length || pa[0].total === 0 || pb[0].total === 0) return null;
  const q = new Map(pb.map((r) => [r.category, r.share]));
  let sum = 0;
  for (const r of pa) {
    sum += Math.abs(r.share - (q.get(r.category) ?? 0));
    q.delete(r.category);
  }
  for (const share of q.values()) sum += share;
  return sum / 2;
}
