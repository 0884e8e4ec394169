import { describe, expect, it } from 'vitest';
import {
  attentionOptions,
  attentionRow,
  attentionStart,
  formatPoints,
  heatColor,
  heatTextColor,
  needsTime,
  topLegend,
  weekValues,
  whyBars,
} from '../src/app/lib/explain-view';
import type { Explanation, WhenMap } from '../src/model/explain';

const explanation: Explanation = {
  behavior: 'Light:switch on',
  probability: 0.4,
  removal: 'drop',
  offset: 2,
  influence: [
    { index: 2, without: 0.3, influence: 0.1 },
    { index: 3, without: 0.6, influence: -0.2 },
    { index: 4, without: 0.4, influence: 0 },
  ],
  attention: {
    layers: 1,
    heads: 2,
    weights: [
      [
        [0.1, 0.2, 0.3],
        [0.5, 0.1, 0.2],
      ],
    ],
    start: [[0.4, 0.2]],
    score: [0.3, 0.15, 0.25],
  },
};

describe('explanations in the app', () => {
  it('draws one signed bar per window event, scaled by the largest magnitude, none before the window', () => {
    const bars = whyBars(explanation, 5, 'occlusion');
    expect(bars[0]).toBeNull();
    expect(bars[1]).toBeNull();
    expect(bars[2]).toEqual({ value: 0.1, fraction: 0.5, label: '+10.0 pp' });
    expect(bars[3]).toEqual({ value: -0.2, fraction: -1, label: '−20.0 pp' });
    expect(bars[4]).toEqual({ value: 0, fraction: 0, label: '0.0 pp' });
  });

  it('shows the attention row chosen: the mean of heads or one layer and head', () => {
    expect(attentionOptions(explanation.attention).map((o) => o.id)).toEqual(['mean', '0.0', '0.1']);
    expect(attentionOptions({ layers: 2, heads: 1 }).map((o) => o.label)).toEqual([
      'Mean of heads, layer 2',
      'Layer 1, head 1',
      'Layer 2, head 1',
    ]);
    expect(attentionRow(explanation.attention, '0.1')).toEqual([0.5, 0.1, 0.2]);
    expect(attentionRow(explanation.attention, '3.0')).toEqual(explanation.attention.score);
    expect(attentionStart(explanation.attention, 'mean')).toBeCloseTo(0.3, 12);
    expect(attentionStart(explanation.attention, '0.1')).toBe(0.2);
    const bars = whyBars(explanation, 5, 'attention', '0.1');
    expect(bars.slice(2).map((b) => b!.label)).toEqual(['50.0%', '10.0%', '20.0%']);
    expect(bars[2]!.fraction).toBe(1);
  });

  it('formats signed probability points without a negative zero', () => {
    expect(formatPoints(0.1234)).toBe('+12.3 pp');
    expect(formatPoints(-0.0004)).toBe('0.0 pp');
    expect(formatPoints(-0.02, 2)).toBe('−2.00 pp');
  });

  it('reads the week view asked for, null without a time head', () => {
    const cells = Array.from({ length: 56 }, (_, c) => ({
      weekday: Math.floor(c / 8),
      slot: c % 8,
      probability: c / 100,
      top: { behavior: 'x', probability: 0.5 },
    }));
    const map: WhenMap = { behavior: 'x', cells, time: null, joint: null, total: null, topJoint: [] };
    expect(weekValues(map, 'heatmap')![10]).toBe(0.1);
    expect(weekValues(map, 'time')).toBeNull();
    expect(weekValues({ ...map, joint: cells.map(() => 0.5) }, 'joint')![0]).toBe(0.5);
    expect(weekValues(map, 'top')![3]).toBe(0.5);
    expect(needsTime('joint')).toBe(true);
    expect(needsTime('top')).toBe(false);
    expect(heatColor(0, 1)).toBe('rgba(37, 99, 235, 0.040)');
    expect(heatColor(2, 1)).toBe('rgba(37, 99, 235, 0.900)');
    expect(heatColor(1, 0)).toBe('rgba(37, 99, 235, 0.040)');
    expect(heatTextColor(0.9, 1)).toBe('#fff');
    expect(heatTextColor(0.1, 1)).toBe('#111');
  });

  it('colours the most likely behavior per cell, the behavior winning most cells first, grey beyond eight', () => {
    const names = ['a', 'b', 'b', 'c', 'c', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    const cells = Array.from({ length: 56 }, (_, c) => ({
      weekday: Math.floor(c / 8),
      slot: c % 8,
      probability: 0.1,
      top: { behavior: names[c % names.length], probability: 0.5 },
    }));
    const legend = topLegend({ behavior: 'a', cells, time: null, joint: null, total: null, topJoint: [] });
    expect(legend.reduce((n, e) => n + e.cells, 0)).toBe(56);
    expect(legend[0].behavior).toBe('c');
    expect(legend[1].behavior).toBe('b');
    expect(new Set(legend.slice(0, 8).map((e) => e.color)).size).toBe(8);
    expect(legend.slice(8).every((e) => e.color === '#9aa3b2')).toBe(true);
  });
});
