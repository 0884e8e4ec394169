import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../src/node/tf';
import {
  countTrainTargets,
  evaluateOnTest,
  kShotSequences,
  kShotWithRehearsal,
  oldBehaviorsKept,
  runOne,
  withholdBehaviors,
} from '../src/node/runs';
import { loadModelDir } from '../src/node/model-files';
import { fullMetrics } from '../src/core/evaluation';
import { headBehaviors } from '../src/core/metrics';
import { isRefresh } from '../src/core/events';
import { runId, type RunSpec } from '../src/node/run-spec';
import { evaluateModel, type EvaluationResult } from '../src/train/evaluate';
import { alignOutputPrior, meanPredictedDistribution } from '../src/train/calibration';
import { behaviorCounts } from '../src/core/baselines';
import { PAD } from '../src/core/vocab';
import { nestedSubset } from '../src/core/data';
import { aggregateMetrics, mergeRows, parseResults } from '../src/core/results';
import { writeResultRows } from '../src/node/results-file';
import { behaviors, events, locations, toyConfig } from './helpers';
import { BehaveGPT } from '../src/model/behavegpt';
import { trainModel } from '../src/train/trainer';

const tiny = {
  behaviorDim: 8,
  weekdayDim: 4,
  slotDim: 4,
  locationDim: 4,
  targetDim: 4,
  numHeads: 2,
  numLayers: 1,
  headHidden: 8,
  contextLength: 12,
};
const seqs = (n: number, offset: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `q${offset + i}`, events: events(6 + (i % 4), i) }));
const data = { train: seqs(24, 0), valid: seqs(6, 100), test: seqs(6, 200) };

describe('experiment runner (unit size)', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it('runs, records test metrics for all and no-refresh targets, and skips a finished run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runs-'));
    const spec: RunSpec = {
      dataset: 'toy',
      objective: { name: 'dro', dro: { radius: 0.1 } },
      seed: 1,
      config: tiny,
      train: { epochs: 2, batchSize: 8, patience: 2 },
    };
    const lines: string[] = [];
    const modelsDir = mkdtempSync(join(tmpdir(), 'models-'));
    const first = await runOne(spec, data, { recordsDir: dir, modelsDir, commit: 'test', log: (l) => lines.push(l) });
    expect(first.id).toBe(runId(spec));
    expect(first.epochsRun).toBe(2);
    expect(first.test.all.targets).toBe(data.test.reduce((s, q) => s + q.events.length - 1, 0));
    // Valid and test hold the same events under other ids, so the record's two evaluations agree.
    const { loss: _validLoss, ...validMetrics } = first.valid;
    expect(first.test.all).toMatchObject(validMetrics);
    expect(first.test.all['weighted_recall@5']).toBeGreaterThan(first.test.all['weighted_recall@1']);
    expect(first.test.all['head_recall@5']).toBeLessThanOrEqual(1);
    // The recorded test figures are those of the kept model, scored again.
    const kept = loadModelDir(join(modelsDir, first.id));
    const rescored = await evaluateOnTest(spec, kept, data);
    kept.model.dispose();
    expect(first.test.all).toEqual(fullMetrics(rescored.targets, headBehaviors(behaviorCounts(data.train))));
    expect(first.test['no-refresh'].targets).toBe(rescored.targets.filter((t) => !isRefresh(t.behavior)).length);
    expect(readdirSync(dir)).toEqual([`${first.id}.json`]);
    const trainedLines = lines.length;
    const again = await runOne(spec, data, { recordsDir: dir, commit: 'test', log: (l) => lines.push(l) });
    expect(lines.length).toBe(trainedLines); // nothing trained or logged
    expect(again).toEqual(first);
  }, 60_000);

  it('gives different ids to runs that differ in any setting', () => {
    const base: RunSpec = { dataset: 'us', objective: { name: 'ce' }, seed: 0 };
    const ids = [
      base,
      { ...base, seed: 1 },
      { ...base, config: { useContext: false } },
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
      { ...base, kShot: { behaviors: ['a', 'b'], k: 20, rehearsal: 4 } },
      { ...base, kShot: { behaviors: ['a', 'b'], k: 20, maxOldDrop: 0.01 } },
      { ...base, init: 'runs/models/us-x-s1', alignPrior: true },
    ].map(runId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toBe('us-behavegpt-ce-s0');
    // Records written before a setting existed keep their ids: the full split is no fraction.
    expect(runId({ ...base, fraction: 1 })).toBe('us-behavegpt-ce-s0');
    expect(ids[9]).toBe('us-behavegpt-ce-from-us-x-s1-s0');
  });

  it('shortens ids that would make too long a file name, keeping them distinct', () => {
    const long = (k: number): RunSpec => ({
      dataset: 'us',
      objective: { name: 'dro', dro: { radius: 0.05, tailMix: 0, priorBeta: 0.99 } },
      seed: 2,
      init: `runs/models/${'x'.repeat(200)}`,
      kShot: { behaviors: ['a'], k },
    });
    const [a, b] = [runId(long(5)), runId(long(20))];
    expect(a).not.toBe(b);
    expect(a).toMatch(/^us-behavegpt-dro-.*-[0-9a-f]{8}-s2$/);
    expect(`${a}.json.tmp`.length).toBeLessThanOrEqual(255);
    expect(runId(long(5))).toBe(a);
  });

  it('resumes a scaling-style grid without redoing finished cells', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'grid-'));
    const cells: RunSpec[] = [0.5, 1].map((fraction) => ({
      dataset: 'toy',
      objective: { name: 'ce' },
      seed: 0,
      fraction,
      config: tiny,
      train: { epochs: 1, batchSize: 8 },
    }));
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
    expect(withheld.flatMap((s) => s.events).length).toBe(
      train.flatMap((s) => s.events).filter((e) => e.behavior !== name).length,
    );
    for (const k of [1, 5, 20]) {
      const chosen = kShotSequences(train, [name, other], k);
      for (const b of [name, other])
        expect(chosen.flatMap((s) => s.events).filter((e) => e.behavior === b).length).toBeGreaterThanOrEqual(k);
      expect(chosen.length).toBeLessThan(train.length);
    }
    expect(kShotSequences(train, [name], 5).map((s) => s.id)).toEqual(
      kShotSequences(train, [name], 5).map((s) => s.id),
    );
  });

  it('rehearsal adds r × as many sequences, none holding the new behaviors, drawn per seed', () => {
    const name = seqs(1, 0)[0].events[0].behavior;
    // Two sequences in three lack the behavior.
    const train = seqs(200, 0).map((s, i) =>
      i % 3 ? { ...s, events: s.events.filter((e) => e.behavior !== name) } : s,
    );
    const shots = kShotSequences(train, [name], 3);
    const mixed = kShotWithRehearsal(train, { behaviors: [name], k: 3, rehearsal: 2 }, 0);
    expect(mixed.slice(0, shots.length)).toEqual(shots);
    const replay = mixed.slice(shots.length);
    expect(replay).toHaveLength(2 * shots.length);
    expect(replay.some((s) => s.events.some((e) => e.behavior === name))).toBe(false);
    expect(new Set(mixed.map((s) => s.id)).size).toBe(mixed.length);
    expect(kShotWithRehearsal(train, { behaviors: [name], k: 3, rehearsal: 2 }, 1).map((s) => s.id)).not.toEqual(
      mixed.map((s) => s.id),
    );
    expect(kShotWithRehearsal(train, { behaviors: [name], k: 3 }, 0)).toEqual(shots);
  });
});

describe('k-shot epoch eligibility', () => {
  const result = (targets: [string, number][]): EvaluationResult => ({
    metrics: {},
    loss: 0,
    targets: targets.map(([behavior, rank]) => ({ behavior, rank })),
  });
  it('keeps an epoch only while old behaviors lose at most maxDrop of weighted recall@5', () => {
    const kept = oldBehaviorsKept(['new'], 0.1);
    const initial = result([
      ['a', 1],
      ['a', 2],
      ['b', 3],
      ['b', 9],
      ['new', 50],
    ]); // old R@5 = 3/4
    expect(
      kept(
        result([
          ['a', 1],
          ['a', 2],
          ['b', 9],
          ['b', 9],
          ['new', 1],
        ]),
        initial,
      ),
    ).toBe(false); // 2/4: −25 points
    expect(
      kept(
        result([
          ['a', 1],
          ['a', 2],
          ['b', 3],
          ['b', 9],
          ['new', 1],
        ]),
        initial,
      ),
    ).toBe(true); // same old, new learned
    expect(
      kept(
        result([
          ['a', 1],
          ['a', 1],
          ['b', 1],
          ['b', 1],
          ['new', 90],
        ]),
        initial,
      ),
    ).toBe(true);
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
      [
        { task: 'generation', dataset: 'us', model: 'm', metrics: {} },
        { task: 'next-behavior', dataset: 'us', model: 'old', metrics: {} },
      ],
      'next-behavior',
      [{ task: 'next-behavior', dataset: 'us', model: 'new', metrics: {} }],
    );
    expect(rows.map((r) => r.model)).toEqual(['m', 'new']);
    expect(() => parseResults([{ task: 'x', dataset: 'us', metrics: {} }], 'r.json')).toThrow(
      'r.json: row 1, field "model": missing or not a string',
    );
  });

  it("merging is stable: a task's new rows take its old place, other rows keep their order, a new task is appended", () => {
    const row = (task: string, model: string) => ({ task, dataset: 'us', model, metrics: {} });
    const file = [
      row('next-behavior', 'a'),
      row('next-behavior', 'b'),
      row('generation', 'g'),
      row('cross-domain', 'c'),
    ];
    const once = mergeRows(file, 'next-behavior', [
      row('next-behavior', 'a2'),
      row('next-behavior', 'b2'),
      row('next-behavior', 'x2'),
    ]);
    expect(once.map((r) => r.model)).toEqual(['a2', 'b2', 'x2', 'g', 'c']);
    expect(mergeRows(once, 'next-behavior', once.slice(0, 3))).toEqual(once); // a rerun changes nothing
    expect(mergeRows(file, 'generation', [row('generation', 'g2')]).map((r) => r.model)).toEqual(['a', 'b', 'g2', 'c']);
    expect(mergeRows(file, 'new-behavior', [row('new-behavior', 'n')]).map((r) => r.model)).toEqual([
      'a',
      'b',
      'g',
      'c',
      'n',
    ]);
    expect(mergeRows(file, 'generation', []).map((r) => r.model)).toEqual(['a', 'b', 'c']);
    // Rows of a task split by others (files written by an older merge) come together at its first place.
    const split = [row('t', '1'), row('u', 'u'), row('t', '2')];
    expect(mergeRows(split, 't', [row('t', '3')]).map((r) => r.model)).toEqual(['3', 'u']);
  });

  it('writes results.json once per report, each task in place, and a rerun leaves the file byte for byte as it was', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'results-')), 'docs', 'results.json');
    const row = (task: string, model: string) => ({ task, dataset: 'us', model, metrics: { mrr: 0.5 } });
    writeResultRows({ generation: [row('generation', 'g')] }, path);
    writeResultRows({ 'cross-domain': [row('cross-domain', 'c')], 'new-behavior': [row('new-behavior', 'n')] }, path);
    writeResultRows({ generation: [row('generation', 'g2')] }, path);
    const first = readFileSync(path, 'utf8');
    expect((JSON.parse(first) as { model: string }[]).map((r) => r.model)).toEqual(['g2', 'c', 'n']);
    writeResultRows({ 'cross-domain': [row('cross-domain', 'c')], 'new-behavior': [row('new-behavior', 'n')] }, path);
    writeResultRows({ generation: [row('generation', 'g2')] }, path);
    expect(readFileSync(path, 'utf8')).toBe(first);
  });
});

describe('trainer schedule for tiny data', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it('minSteps adds epochs; evaluateEvery skips evaluations of short epochs but always scores the last', async () => {
    const model = BehaveGPT.create(toyConfig({ dropout: 0 }), 2);
    const train = data.train.slice(0, 8); // one batch of 8: one step per epoch
    const result = await trainModel(model, train, data.valid, behaviors, locations, {
      epochs: 2,
      batchSize: 8,
      minSteps: 10,
      evaluateEvery: 4,
      patience: 100,
      warmupSteps: 1,
    });
    expect(result.steps).toBe(10);
    expect(result.epochsRun).toBe(10);
    // Evaluated at steps 4, 8 and the final epoch (10).
    expect(result.history.map((h) => h.epoch)).toEqual([4, 8, 10]);
    model.dispose();
  }, 60_000);

  it('with startCompetes the model before training is kept when no epoch beats it on valid', async () => {
    // A learning rate far too high for the toy model: every trained epoch is worse than the start.
    const trained = BehaveGPT.create(toyConfig({ dropout: 0 }), 6);
    await trainModel(trained, data.train, data.valid, behaviors, locations, {
      epochs: 20,
      batchSize: 8,
      patience: 100,
      learningRate: 1e-2,
    });
    const opts = { epochs: 2, batchSize: 8, patience: 100, learningRate: 5, warmupSteps: 1 };
    const plain = await trainModel(trained, data.train, data.valid, behaviors, locations, { ...opts, seed: 1 });
    expect(plain.bestEpoch).toBeGreaterThan(0); // the first epoch replaces the start however bad
    const model = BehaveGPT.create(toyConfig({ dropout: 0 }), 6);
    await trainModel(model, data.train, data.valid, behaviors, locations, {
      epochs: 20,
      batchSize: 8,
      patience: 100,
      learningRate: 1e-2,
    });
    const before = await Promise.all([...model.params.values()].map((v) => v.data()));
    const kept = await trainModel(model, data.train, data.valid, behaviors, locations, {
      ...opts,
      seed: 1,
      startCompetes: true,
    });
    expect(kept.bestEpoch).toBe(0);
    const after = await Promise.all([...model.params.values()].map((v) => v.data()));
    for (const [i, a] of after.entries()) expect(Array.from(a)).toEqual(Array.from(before[i]));
    trained.dispose();
    model.dispose();
  }, 60_000);

  it('an epoch that is never eligible is never selected: the model stays as before training', async () => {
    const model = BehaveGPT.create(toyConfig({ dropout: 0 }), 3);
    const before = await Promise.all([...model.params.values()].map((v) => v.data()));
    const result = await trainModel(model, data.train, data.valid, behaviors, locations, {
      epochs: 3,
      batchSize: 8,
      patience: 100,
      learningRate: 1e-2,
      eligible: () => false,
    });
    expect(result.steps).toBeGreaterThan(0);
    expect(result.bestEpoch).toBe(0);
    const after = await Promise.all([...model.params.values()].map((v) => v.data()));
    for (const [i, a] of after.entries()) expect(Array.from(a)).toEqual(Array.from(before[i]));
    // Eligible only from epoch 2 on: epoch 1 is skipped even though it is the first trained one.
    let calls = 0;
    const late = await trainModel(model, data.train, data.valid, behaviors, locations, {
      epochs: 3,
      batchSize: 8,
      patience: 100,
      learningRate: 1e-2,
      eligible: () => ++calls >= 2,
    });
    expect(late.bestEpoch).toBeGreaterThanOrEqual(2);
    model.dispose();
  }, 60_000);
});

describe('adapting to another domain', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it('alignOutputPrior moves the mean predicted distribution to the target frequencies', async () => {
    const model = BehaveGPT.create(toyConfig({ dropout: 0 }), 4);
    // A target domain where one behavior dominates.
    const target = seqs(20, 0).map((s) => ({
      ...s,
      events: s.events.map((e, i) => (i % 4 === 0 ? e : { ...e, behavior: 'Fan:switch on' })),
    }));
    const counts = behaviorCounts(target);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const gap = async () => {
      const mean = await meanPredictedDistribution(model, target, behaviors, locations);
      return Math.abs(mean[behaviors.id('Fan:switch on')] - counts.get('Fan:switch on')! / total);
    };
    const before = await gap();
    const shift = await alignOutputPrior(model, target, behaviors, locations);
    expect(before).toBeGreaterThan(0.3);
    expect(await gap()).toBeLessThan(0.05);
    expect(shift[behaviors.id('Fan:switch on')]).toBeGreaterThan(1);
    expect(shift[behaviors.id(PAD)]).toBe(0); // special tokens are never shifted
    model.dispose();
  }, 60_000);

  it('alignOutputPrior trusts a handful of events less than many with the same frequencies', async () => {
    const target = seqs(40, 0).map((s) => ({
      ...s,
      events: s.events.map((e, i) => (i % 4 === 0 ? e : { ...e, behavior: 'Fan:switch on' })),
    }));
    const shiftWith = async (train: typeof target) => {
      const model = BehaveGPT.create(toyConfig({ dropout: 0 }), 4);
      const shift = await alignOutputPrior(model, train, behaviors, locations, { rounds: 1, priorEvents: 30 });
      model.dispose();
      return shift[behaviors.id('Fan:switch on')];
    };
    const few = await shiftWith(target.slice(0, 1));
    const many = await shiftWith(target);
    expect(few).toBeGreaterThan(0);
    expect(few).toBeLessThan(many * 0.5);
    // No prior weight: the empirical frequency itself, whatever the amount of data.
    const model = BehaveGPT.create(toyConfig({ dropout: 0 }), 4);
    const counts = behaviorCounts(target.slice(0, 1));
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const mean = await meanPredictedDistribution(model, target.slice(0, 1), behaviors, locations);
    const shift = await alignOutputPrior(model, target.slice(0, 1), behaviors, locations, {
      rounds: 1,
      priorEvents: 0,
    });
    const fan = behaviors.id('Fan:switch on');
    expect(shift[fan]).toBeCloseTo(Math.log(counts.get('Fan:switch on')! / total) - Math.log(mean[fan]), 5);
    model.dispose();
  }, 60_000);

  it('evaluateModel tags every target with its sequence, also across the windows of a long sequence', async () => {
    const model = BehaveGPT.create(toyConfig({ dropout: 0 }), 5);
    // 40 events with a context of 16: three windows, 39 targets (position 0 is never a target).
    const sequences = [
      { id: 'long', events: events(40, 3) },
      { id: 'short', events: events(5, 7) },
      { id: 'single', events: events(1, 2) },
    ];
    const { targets } = await evaluateModel(model, sequences, behaviors, locations);
    const count = (id: string) => targets.filter((t) => t.sequence === id).length;
    expect([count('long'), count('short'), count('single')]).toEqual([39, 4, 0]);
    expect(targets.every((t) => t.sequence !== undefined)).toBe(true);
    // The long sequence's targets are its events 1…39 in order.
    expect(targets.filter((t) => t.sequence === 'long').map((t) => t.behavior)).toEqual(
      sequences[0].events.slice(1).map((e) => e.behavior),
    );
    model.dispose();
  }, 60_000);

  it('evaluateModel ranks only the candidates it is given; a target outside them is a miss', async () => {
    const model = BehaveGPT.create(toyConfig({ dropout: 0 }), 5);
    const all = await evaluateModel(model, data.test, behaviors, locations);
    const fewer = await evaluateModel(model, data.test, behaviors, locations, {
      candidate: (b) => b !== 'Fan:switch on',
    });
    all.targets.forEach((t, i) => {
      const f = fewer.targets[i];
      expect(f.behavior).toBe(t.behavior);
      if (t.behavior === 'Fan:switch on') expect(f.rank).toBe(Number.POSITIVE_INFINITY);
      else expect(f.rank).toBeLessThanOrEqual(t.rank);
    });
    model.dispose();
  }, 60_000);
});
