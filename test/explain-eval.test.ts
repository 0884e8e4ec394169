import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend, tf } from '../src/node/tf';
import { BehaveGPT } from '../src/model/behavegpt';
import { Explainer } from '../src/model/explain';
import {
  deletionTest,
  DELETION_METHODS,
  mostFrequent,
  removalLikelihood,
  summarizeDeletion,
  weekCheck,
  weekTotals,
} from '../src/experiments/explain/measure';
import { explainMarkdown, explainRows } from '../src/experiments/explain/report';
import { fitTimePopularity } from '../src/core/baselines';
import { parseResults } from '../src/core/results';
import { weekSlot } from '../src/core/time';
import type { BehaviorSequence } from '../src/core/events';
import { behaviors, events, locations, NAMES, toyConfig } from './helpers';

const sequences: BehaviorSequence[] = Array.from({ length: 8 }, (_, s) => ({
  id: `s${s}`,
  events: events(6 + (s % 4), s * 5).map((e, i) => ({ ...e, weekday: (s + i) % 7, slot: (s * 3 + i * 2) % 8 })),
}));

describe('measuring explanations', () => {
  let explainer: Explainer;
  let model: BehaveGPT;
  beforeAll(async () => {
    await initNodeBackend('wasm');
    model = BehaveGPT.create(toyConfig({ contextLength: 8, timeHead: true }), 21);
    let i = 0;
    for (const v of model.params.values()) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', 2100 + i++));
    explainer = await Explainer.create({ model, behaviors, locations });
  });

  it('deletion test: occlusion at k = 1 removes the event whose removal lowers the target most, so it falls at least as far as any method', () => {
    const result = deletionTest(explainer, sequences, behaviors, { ks: [1, 2, 3], removal: 'drop', randomDraws: 3 });
    // Positions need 4 events in the window of 7: t = 4 … length − 1 of every sequence.
    const expected = sequences.reduce((n, s) => n + Math.max(0, s.events.length - 4), 0);
    expect(result.positions).toBe(expected);
    expect(result.count.reduce((a, b) => a + b, 0)).toBe(expected);
    for (const target of ['predicted', 'observed'] as const) {
      const drop = (method: (typeof DELETION_METHODS)[number], k: number) => result.tallies[target][method][k].drop;
      for (let s = 0; s < sequences.length; s++)
        for (const method of DELETION_METHODS)
          expect(drop('occlusion', 0)[s]).toBeGreaterThanOrEqual(drop(method, 0)[s] - 1e-9);
    }
    // Top-1 changes are counts of positions.
    for (const method of DELETION_METHODS)
      for (let s = 0; s < sequences.length; s++)
        expect(result.tallies.predicted[method][2].changed[s]).toBeLessThanOrEqual(result.count[s] + 1e-9);
    // Deterministic, random draws included.
    const again = deletionTest(explainer, sequences, behaviors, { ks: [1, 2, 3], removal: 'drop', randomDraws: 3 });
    expect(again.tallies).toEqual(result.tallies);
  });

  it('summaries are the means over positions, with intervals around them and paired differences', () => {
    const result = deletionTest(explainer, sequences, behaviors, { ks: [1, 3], removal: 'unknown', randomDraws: 2 });
    const { figures, comparisons } = summarizeDeletion(result, { resamples: 200 });
    const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
    for (const f of figures) {
      const ki = result.ks.indexOf(f.k);
      const counts = f.target === 'predicted' ? result.count : result.observedCount;
      expect(f.drop.estimate).toBeCloseTo(
        sum(result.tallies[f.target][f.method as 'random'][ki].drop) / sum(counts),
        12,
      );
      expect(f.drop.low).toBeLessThanOrEqual(f.drop.high);
    }
    const occlusion = figures.find((f) => f.target === 'predicted' && f.method === 'occlusion' && f.k === 3)!;
    const random = figures.find((f) => f.target === 'predicted' && f.method === 'random' && f.k === 3)!;
    expect(
      comparisons.find((c) => c.target === 'predicted' && c.k === 3 && c.name === 'occlusion − random')!.drop.estimate,
    ).toBeCloseTo(occlusion.drop.estimate - random.drop.estimate, 12);
    // Rows and the report section carry the same figures.
    const week = {
      positions: 10,
      rows: [
        {
          behavior: NAMES[0],
          events: 3,
          heatmap: { model: 0.1, timePopularity: 0.2, contextFree: 0.3 },
          joint: { model: 0.05, trainCells: 0.1, contextFree: 0.4 },
        },
      ],
    };
    const input = { model: 'toy', dataset: 'us', split: 'test', deletion: { ...result, figures, comparisons }, week };
    const rows = parseResults(explainRows(input));
    expect(rows.filter((r) => r.test === 'deletion')).toHaveLength(8);
    const occlusionRow = rows.find(
      (r) => r.test === 'deletion' && r.method === 'occlusion' && r.target === "model's top-1",
    )!;
    expect(occlusionRow.metrics['prob_drop@3']).toBeCloseTo(occlusion.drop.estimate, 4);
    expect(occlusionRow.removal).toBe('unknown');
    expect(rows.find((r) => r.test === 'week-jsd' && r.view === 'joint' && r.model === 'toy')!.metrics.mean_jsd).toBe(
      0.05,
    );
    const markdown = explainMarkdown(input, {
      commit: 'abc1234',
      date: '2026-01-02T00:00:00Z',
      command: 'npm run explain-eval',
    });
    expect(markdown).toContain(
      `| occlusion (leave-one-out) | ${(100 * figures.find((f) => f.target === 'predicted' && f.method === 'occlusion' && f.k === 1)!.drop.estimate).toFixed(2)} [`,
    );
    expect(markdown).toContain('Removal: **unknown**');
    expect(markdown).toContain('| model closer | | | 1/1 | 1/1 | | 1/1 | 1/1 |');
  });

  it('removal choice: the log-probability of the true next event with nothing and with one random event removed', () => {
    const r = removalLikelihood(explainer, sequences, behaviors, ['drop', 'unknown'], 3);
    expect(r.positions).toBe(sequences.reduce((n, s) => n + s.events.length - 1, 0));
    let full = 0;
    for (const { events: ev } of sequences)
      for (let t = 1; t < ev.length; t++)
        full += Math.log(explainer.probabilities(ev.slice(0, t), ev[t])[behaviors.id(ev[t].behavior)]);
    expect(r.full).toBeCloseTo(full / r.positions, 10);
    expect(r.removed.drop).not.toBeCloseTo(r.removed.unknown, 3);
  });

  it('week totals add up: one distribution per position in every cell, a joint of mass one, one observed event per position', () => {
    const totals = weekTotals(explainer, sequences, behaviors);
    const positions = sequences.reduce((n, s) => n + s.events.length - 1, 0);
    expect(totals.positions).toBe(positions);
    for (let cell = 0; cell < 56; cell++)
      expect(totals.conditional.reduce((s, row) => s + row[cell], 0)).toBeCloseTo(positions, 4);
    expect(totals.joint.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0)).toBeCloseTo(positions, 4);
    expect(totals.observedCells.reduce((a, b) => a + b, 0)).toBe(positions);
    const first = sequences[0].events[1];
    expect(totals.observed[behaviors.id(first.behavior)][weekSlot(first)]).toBeGreaterThanOrEqual(1);
    const names = mostFrequent(behaviors, 3);
    const rows = weekCheck(totals, behaviors, names, sequences, fitTimePopularity(sequences, behaviors));
    expect(rows.map((r) => r.behavior)).toEqual(
      names.filter((n) => totals.observed[behaviors.id(n)].some((c) => c > 0)),
    );
    for (const r of rows) {
      expect(r.events).toBe(totals.observed[behaviors.id(r.behavior)].reduce((a, b) => a + b, 0));
      for (const v of [...Object.values(r.heatmap), ...Object.values(r.joint)]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
  });
});
