/**
 * What the "Why" and "When" panels of Replay and Type show, from the model's explanations
 * (model/explain.ts): the bar beside each event, the attention rows to choose from, and the
 * week grid's values and colours. Pure.
 */
import type { AttentionView, Explanation, WhenMap } from '../../lib/index';

export type WhyMethod = 'occlusion' | 'attention';

/** An attention row: the mean of the last layer's heads (what the deletion test ranks by), or one layer and head. */
export type AttentionChoice = 'mean' | `${number}.${number}`;

export interface AttentionOption {
  id: AttentionChoice;
  label: string;
}

export function attentionOptions(view: Pick<AttentionView, 'layers' | 'heads'>): AttentionOption[] {
  const options: AttentionOption[] = [
    { id: 'mean', label: view.layers > 1 ? `Mean of heads, layer ${view.layers}` : 'Mean of heads' },
  ];
  for (let l = 0; l < view.layers; l++)
    for (let h = 0; h < view.heads; h++) options.push({ id: `${l}.${h}`, label: `Layer ${l + 1}, head ${h + 1}` });
  return options;
}

/** Layer and head of a choice, null for the mean or a choice the model does not have. */
function headOf(
  view: Pick<AttentionView, 'layers' | 'heads'>,
  choice: AttentionChoice,
): { layer: number; head: number } | null {
  if (choice === 'mean') return null;
  const [layer, head] = choice.split('.').map(Number);
  return layer >= 0 && layer < view.layers && head >= 0 && head < view.heads ? { layer, head } : null;
}

/** Attention per window event of the chosen row; the mean when the choice is not in the model. */
export function attentionRow(view: AttentionView, choice: AttentionChoice): number[] {
  const at = headOf(view, choice);
  return at ? view.weights[at.layer][at.head] : view.score;
}

/** The chosen row's weight on the start token <bos> (the mean of the last layer's heads by default). */
export function attentionStart(view: AttentionView, choice: AttentionChoice): number {
  const at = headOf(view, choice);
  if (at) return view.start[at.layer][at.head];
  return view.start[view.layers - 1].reduce((a, b) => a + b, 0) / view.heads;
}

export interface EventBar {
  /** Influence (probability points as a fraction, signed) or attention weight (0–1). */
  value: number;
  /** value / the largest magnitude among the events: −1 … 1, for the bar's length and side. */
  fraction: number;
  /** The number as text, e.g. "+12.3 pp" or "23.4%". */
  label: string;
}

/** Signed probability points: "+12.3 pp", "−0.4 pp", "0.0 pp". */
export function formatPoints(x: number, digits = 1): string {
  const text = (Math.abs(x) * 100).toFixed(digits);
  if (Number(text) === 0) return `${(0).toFixed(digits)} pp`;
  return `${x > 0 ? '+' : '−'}${text} pp`;
}

/**
 * One bar per event of the history (length `historyLength`), null for events before the model's
 * window (they cannot influence the prediction).
 */
export function whyBars(
  explanation: Explanation,
  historyLength: number,
  method: WhyMethod,
  choice: AttentionChoice = 'mean',
): (EventBar | null)[] {
  const values =
    method === 'occlusion'
      ? explanation.influence.map((e) => e.influence)
      : attentionRow(explanation.attention, choice);
  const scale = Math.max(1e-12, ...values.map(Math.abs));
  const bars: (EventBar | null)[] = new Array(historyLength).fill(null);
  values.forEach((value, i) => {
    const index = explanation.offset + i;
    if (index < historyLength)
      bars[index] = {
        value,
        fraction: value / scale,
        label: method === 'occlusion' ? formatPoints(value) : `${(value * 100).toFixed(1)}%`,
      };
  });
  return bars;
}

export type WeekView = 'heatmap' | 'top' | 'time' | 'joint';

export const WEEK_VIEWS: readonly { id: WeekView; label: string; description: string }[] = [
  {
    id: 'heatmap',
    label: 'If it happens then',
    description: 'P(the next event is the behavior | it happens in this cell)',
  },
  {
    id: 'top',
    label: 'Most likely then',
    description: 'The most likely next behavior if the next event happens in this cell, and its probability',
  },
  {
    id: 'time',
    label: 'When the next event happens',
    description: 'The time head: P(the next event happens in this cell), whatever it is',
  },
  {
    id: 'joint',
    label: 'Both',
    description: 'P(the next event is the behavior and happens in this cell) = time × heatmap',
  },
];

/** Views that need the time head's forecast. */
export function needsTime(view: WeekView): boolean {
  return view === 'time' || view === 'joint';
}

/** The 56 values (weekday-major) of a view; null where the view needs the time head and there is none. */
export function weekValues(map: WhenMap, view: WeekView): number[] | null {
  if (view === 'heatmap') return map.cells.map((c) => c.probability);
  if (view === 'top') return map.cells.map((c) => c.top.probability);
  return view === 'time' ? map.time : map.joint;
}

/** Colours of the "most likely then" view: one per behavior, in order of how many cells it wins. */
const CATEGORY_COLORS = ['#2f5bd3', '#d9822b', '#1d7f46', '#b3261e', '#7b4bb7', '#0f8b8d', '#a4508b', '#8a6d1d'];
const OTHER_COLOR = '#9aa3b2';

export interface TopLegendEntry {
  behavior: string;
  color: string;
  cells: number;
}

/** The behaviors that are most likely somewhere in the week, with their colour; beyond eight, one grey for the rest. */
export function topLegend(map: WhenMap): TopLegendEntry[] {
  const counts = new Map<string, number>();
  for (const c of map.cells) counts.set(c.top.behavior, (counts.get(c.top.behavior) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([behavior, cells], i) => ({ behavior, cells, color: CATEGORY_COLORS[i] ?? OTHER_COLOR }));
}

/** Fill of a week cell: the accent colour at an opacity proportional to value / max (0.04 … 0.9). */
export function heatColor(value: number, max: number): string {
  const share = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
  return `rgba(37, 99, 235, ${(0.04 + 0.86 * share).toFixed(3)})`;
}

/** Dark text on light cells, light text on dark ones. */
export function heatTextColor(value: number, max: number): string {
  return max > 0 && value / max > 0.55 ? '#fff' : '#111';
}
