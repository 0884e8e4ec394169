import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../src/node/tf';
import { countTrainTargets, kShotSequences, runId, runOne, withholdBehaviors, type RunSpec } from '../src/node/experiments';
import { nestedSubset } from '../src/core/data';
import { aggregateMetrics, mergeRows, parseResults } from '../src/core/results';
import { behaviors, events, locations, toyConfig } from './helpers';
import { BehaveGPT } from '../src/model/behavegpt';
import { trainModel } from '../src/train/trainer';

const tiny = { behaviorDim: 8, weekdayDim: 4, slotDim: 4, locationDim: 4, targetDim: 4, numHeads: 2, numLayers: 1, headHidden: 8, contextLength: 12 };
const seqs = (n: number, offset: number) => Array.from({ length: n }, (_, i) => ({ id: `q${offset + i}`, events: events(6 + (i % 4), i) }));
const data = { train: seqs(24, 0), valid: seqs(6, 100), test: seqs(6, 200) };

describe('experiment runner (unit size)', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it('runs, records test metrics for all and no-refresh targets, and skips a finished run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runs-'));
    const spec: RunSpec = { dataset: 'toy', model: 'behavegpt', objective: { name: 'dro', dro: { radius: 0.1 } }, seed: 1, config: tiny, train: { epochs: 2, batchSize: 8, patience: 2 } };
    const lines: string[] = [];
    const first = await runOne(spec, data, { recordsDir: dir, commit: 'test', log: (l) => lines.push(l) });
    expect(first.id).toBe(runId(spec));
    expect(first.epochsRun).toBe(2);
    expect(first.test.all.targets).toBe(data.test.reduce((s, q) => s + q.events.length - 1, 0));
    expect(first.test.all['weighted_recall@5']).toBeGreaterThanOrEqual(0);
    expect(first.test.all['head_recall@5']).toBeLessThanOrEqual(1);
    expect(readdirSync(dir)).toEqual([`${first.id}.json`]);
    const trainedLines = lines.length;
    const again = await runOne(spec, data, { recordsDir: dir, commit: 'test', log: (l) => lines.push(l) });
    expect(lines.length).toBe(trainedLines); // nothing trained or logged
    expect(again).toEqual(first);
  }, 60_000);

  it('gives different ids to runs that differ in any setting', () => {
    const base: RunSpec = { dataset: 'us', model: 'behavegpt', objective: { name: 'ce' }, seed: 0 };
    const ids = [
      base,
      { ...base, seed: 1 },
      { ...base, model: 'context-free' as const },
      { ...base, objective: { name: 'dro' as const, dro: { radius: 0.1 } } },
      { ...base, objective: { name: 'dro' as const, dro: { radius: 0.3 } } },
      { ...base, objective: { name: 'logit-adjusted' as const, tau: 1 } },
      { ...base, fraction: 0.5 },
      { ...base, fraction: 0.5, train: { minSteps: 3000 } },
      { ...base, train: { timeHead: { weight: 1, detached: false } } },
      { ...base, init: 'runs/models/us-x-s1' },
      { ...base, withhold: ['a', 'b'] },
      { ...base, kShot: { behaviors: ['a', 'b'], k: 5 } },
      { ...base, kShot: { behaviors: ['a', 'b'], k: 20 } },
    ].map(runId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toBe('us-behavegpt-ce-s0');
    // Records written before a setting existed keep their ids: the full split is no fraction.
    expect(runId({ ...base, fraction: 1 })).toBe('us-behavegpt-ce-s0');
    expect(ids[9]).toBe('us-behavegpt-ce-from-us-x-s1-s0');
  });

  it('resumes a scaling-style grid without redoing finished cells', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'grid-'));
    const cells: RunSpec[] = [0.5, 1].map((fraction) => ({ dataset: 'toy', model: 'behavegpt', objective: { name: 'ce' }, seed: 0, fraction, config: tiny, train: { epochs: 1, batchSize: 8 } }));
    const trained: string[] = [];
    const log = (l: string) => l.includes('done in') && trained.push(l.split(':')[0]);
    await runOne(cells[0], data, { recordsDir: dir, commit: 'test', log });
    // "Interrupted" here; the rerun of the whole grid trains only the missing cell.
    for (const cell of cells) await runOne(cell, data, { recordsDir: dir, commit: 'test', log });
    expect(trained).toEqual([runId(cells[0]), runId(cells[1])]);
    const half = JSON.parse(readFileSync(join(dir, `${runId(cells[0])}.json`), 'utf8'));
    expect(half.trainTargets).toBe(countTrainTargets(nestedSubset(data.train, 0.5), tiny.contextLength));
    expect(half.trainTargets).toBeLessThan(countTrainTargets(data.train, tiny.contextLength));
    expect(half.targetsSeen).toBe(half.trainTargets * half.epochsRun);
  }, 60_000);
});

describe('data subsets for scaling and adaptation', () => {
  it('nested fractions are subsets of each other and keep whole sequences', () => {
    const seqsAll = seqs(100, 0);
    const quarter = nestedSubset(seqsAll, 0.25);
    const half = nestedSubset(seqsAll, 0.5);
    expect(quarter).toHaveLength(25);
    expect(half).toHaveLength(50);
    const halfIds = new Set(half.map((s) => s.id));
    expect(quarter.every((s) => halfIds.has(s.id))).toBe(true);
    expect(nestedSubset(seqsAll, 0.001)).toHaveLength(1);
    expect(() => nestedSubset(seqsAll, 0)).toThrow('nestedSubset: fraction 0 is not in (0, 1]');
  });

  it('withholding removes every event of the behaviors; k-shot sets hold ≥ k examples of each', () => {
    const train = seqs(60, 0);
    const name = train[0].events[0].behavior;
    const other = train[0].events[1].behavior;
    const withheld = withholdBehaviors(train, new Set([name]));
    expect(withheld.flatMap((s) => s.events).some((e) => e.behavior === name)).toBe(false);
    expect(withheld.flatMap((s) => s.events).length).toBe(train.flatMap((s) => s.events).filter((e) => e.behavior !== name).length);
    for (const k of [1, 5, 20]) {
      const chosen = kShotSequences(train, [name, other], k);
      for (const b of [name, other]) expect(chosen.flatMap((s) => s.events).filter((e) => e.behavior === b).length).toBeGreaterThanOrEqual(k);
      expect(chosen.length).toBeLessThan(train.length);
    }
    expect(kShotSequences(train, [name], 5).map((s) => s.id)).toEqual(kShotSequences(train, [name], 5).map((s) => s.id));
  });
});

describe('results rows', () => {
  it('aggregates mean and sample std over seeds', () => {
    const { metrics, std } = aggregateMetrics([{ mrr: 0.5 }, { mrr: 0.7 }, { mrr: 0.6 }], ['mrr']);
    expect(metrics.mrr).toBe(0.6);
    expect(std.mrr).toBe(0.1);
  });

  it('merges a task without touching the others and validates rows', () => {
    const rows = mergeRows(
      [{ task: 'generation', dataset: 'us', model: 'm', metrics: {} }, { task: 'next-behavior', dataset: 'us', model: 'old', metrics: {} }],
      'next-behavior',
      [{ task: 'next-behavior', dataset: 'us', model: 'new', metrics: {} }],
    );
    expect(rows.map((r) => r.model)).toEqual(['m', 'new']);
    expect(() => parseResults([{ task: 'x', dataset: 'us', metrics: {} }], 'r.json')).toThrow('r.json: row 1, field "model": missing or not a string');
  });
});

describe('trainer schedule for tiny data', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it('minSteps adds epochs; evaluateEvery skips evaluations of short epochs but always scores the last', async () => {
    const model = BehaveGPT.create(toyConfig({ dropout: 0 }), 2);
    const train = data.train.slice(0, 8); // one batch of 8: one step per epoch
    const result = await trainModel(model, train, data.valid, behaviors, locations, { epochs: 2, batchSize: 8, minSteps: 10, evaluateEvery: 4, patience: 100, warmupSteps: 1 });
    expect(result.steps).toBe(10);
    expect(result.epochsRun).toBe(10);
    // Evaluated at steps 4, 8 and the final epoch (10).
    expect(result.history.map((h) => h.epoch)).toEqual([4, 8, 10]);
    model.dispose();
  }, 60_000);
});
