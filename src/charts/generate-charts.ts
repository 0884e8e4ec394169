/**
 * Vega-Lite specs of the Generate view: the trajectory as a days × 3-hour-slots timeline (one
 * mark per event, colored by device, the prefix lighter) and grouped bars comparing generated
 * with real distributions. Pure. Data travels as named datasets ("events", "shares") that start
 * empty, so the app streams rows in with view.change (VegaChart's `data`) without re-embedding;
 * a spec changes only when a run starts.
 */
import type { TopLevelSpec } from 'vega-lite';
import { NUM_SLOTS, WEEKDAY_NAMES, slotLabel } from '../core/events';
import type { ShareRow, TimelineRow } from './generate-rows';

export const TIMELINE_DATA = 'events';
export const SHARES_DATA = 'shares';
/** Unit names: vega draws their marks in groups with the class `<name>_marks`. */
export const TIMELINE_GENERATED = 'generated';
export const TIMELINE_PREFIX = 'prefix';

export type TimelineSpec = TopLevelSpec & { datasets: { [TIMELINE_DATA]: TimelineRow[] } };
export type SharesSpec = TopLevelSpec & { datasets: { [SHARES_DATA]: ShareRow[] } };

export interface ChartSize {
  /** Plot width in px, or 'container' to follow the parent element's width. */
  width?: number | 'container';
  height?: number;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const CONFIG = {
  axis: { gridColor: '#eceff4', labelColor: '#1d2330', titleColor: '#1d2330' },
  legend: { labelLimit: 200 },
  view: { stroke: '#d9dee7' },
};

const str = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const array = (xs: readonly string[]) => `[${xs.map(str).join(', ')}]`;

function sized(size: ChartSize, height: number) {
  return {
    width: size.width ?? 640,
    height: size.height ?? height,
    ...(size.width === 'container' ? { autosize: { type: 'fit-x', contains: 'padding' } } : {}),
  };
}

/**
 * Days on x (0 = the day of the start, labelled with its weekday; negative days hold the prefix),
 * 3-hour slots on y (night at the top), one point per event at its (x, y) inside the cell.
 */
export function timelineSpec(anchorWeekday: number, size: ChartSize = {}): TimelineSpec {
  const weekdayOf = `${array(WEEKDAY_NAMES)}[((${anchorWeekday} + datum.value) % 7 + 7) % 7]`;
  const x = {
    field: 'x',
    type: 'quantitative',
    title: 'day (weekday, days from the start)',
    scale: { zero: false, nice: false, padding: 14 },
    axis: {
      tickMinStep: 1,
      format: 'd',
      grid: false,
      labelExpr: `datum.value === 0 ? ${weekdayOf} + ' (start)' : ${weekdayOf} + ' ' + (datum.value > 0 ? '+' : '') + datum.value`,
      labelOverlap: true,
    },
  };
  const slots = Array.from({ length: NUM_SLOTS }, (_, i) => slotLabel(i));
  const y = {
    field: 'y',
    type: 'quantitative',
    title: 'time of day',
    scale: { domain: [-0.5, NUM_SLOTS - 0.5], reverse: true, nice: false, zero: false },
    axis: { values: slots.map((_, i) => i), labelExpr: `${array(slots)}[datum.value]`, grid: true, tickSize: 0 },
  };
  const color = {
    field: 'device',
    type: 'nominal',
    title: 'device',
    scale: { scheme: 'tableau20' },
    legend: { orient: 'bottom', columns: 6, symbolOpacity: 1 },
  };
  const tooltip = [
    { field: 'kind', title: 'event' },
    { field: 'index', title: 'index', type: 'quantitative' },
    { field: 'behavior', title: 'behavior' },
    { field: 'weekdayName', title: 'weekday' },
    { field: 'slotName', title: 'time' },
    { field: 'day', title: 'day', type: 'quantitative' },
    { field: 'probability', title: 'probability', type: 'quantitative', format: '.1%' },
  ];
  const layer = (name: string, opacity: number, size: number) => ({
    name,
    transform: [{ filter: `datum.kind === ${str(name)}` }],
    mark: { type: 'point', filled: true, size, opacity, stroke: 'white', strokeWidth: 0.6 },
    encoding: { x, y, color, tooltip, description: { field: 'label' } },
  });
  return {
    $schema: SCHEMA,
    ...sized(size, 300),
    background: 'white',
    datasets: { [TIMELINE_DATA]: [] },
    data: { name: TIMELINE_DATA },
    layer: [layer(TIMELINE_PREFIX, 0.3, 60), layer(TIMELINE_GENERATED, 0.95, 80)],
    config: CONFIG,
  } as unknown as TimelineSpec;
}

/** Colors of the compared series, in order: generated first. */
export const SERIES_COLORS = ['#2f5bd3', '#e8871e', '#6b7280', '#1d7f46'];

/** Grouped bars: one group per category (in `order`), one bar per series (share of its events). */
export function sharesSpec(
  title: string,
  categoryTitle: string,
  series: readonly string[],
  size: ChartSize = {},
): SharesSpec {
  return {
    $schema: SCHEMA,
    title: { text: title, anchor: 'start', fontSize: 13 },
    ...sized(size, 200),
    background: 'white',
    datasets: { [SHARES_DATA]: [] },
    data: { name: SHARES_DATA },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: {
        field: 'category',
        type: 'nominal',
        title: categoryTitle,
        sort: { field: 'order', op: 'min' },
        axis: { labelAngle: -30, labelLimit: 120 },
      },
      xOffset: { field: 'series', type: 'nominal', sort: [...series] },
      y: { field: 'share', type: 'quantitative', title: 'share of events', axis: { format: '.0%' } },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: [...series], range: SERIES_COLORS.slice(0, Math.max(1, series.length)) },
        legend: { orient: 'top' },
      },
      tooltip: [
        { field: 'series', title: 'series' },
        { field: 'category', title: categoryTitle },
        { field: 'share', type: 'quantitative', title: 'share', format: '.1%' },
        { field: 'count', type: 'quantitative', title: 'events', format: ',' },
        { field: 'total', type: 'quantitative', title: 'of', format: ',' },
      ],
    },
    config: CONFIG,
  } as unknown as SharesSpec;
}
