import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../src/node/tf';
import type { BehaviorSequence } from '../src/core/events';
import { BehaveGPT } from '../src/model/behavegpt';
import { trainArm } from '../src/train/finetune';
import { chooseDefaults, simulateStopping, type StoppingRule } from '../src/experiments/own-data/select';
import { buildStandin, renameBehaviors, smallLog, toCanonicalCsv } from '../src/experiments/own-data/standins';
import type { TuneRecord } from '../src/experiments/own-data/tune';
import { parseBehaviorLog } from '../src/core/data';
import { modelUrlFromSearch } from '../src/app/lib/query';
import { behaviors, events, locations, NAMES, toyConfig } from './helpers';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

/** Sequences whose behaviors follow a noisy cycle: learnable, then over-fitted. */
function cycles(n: number, from: number): BehaviorSequence[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `c${from + i}`,
    events: events(7, from + i).map((e, t) => ({
      ...e,
      behavior: NAMES[(i + t + ((i * t) % 3 === 0 ? 1 : 0)) % NAMES.length],
    })),
  }));
}

describe('replaying the protocol from a long run', () => {
  it('simulateStopping keeps the same epoch, and stops at the same step, as a run under that rule', {
    timeout: 60_000,
  }, async () => {
    const train = cycles(10, 0);
    const valid = cycles(4, 100);
    const objective = { name: 'dro' as const };
    const fresh = () => ({ model: BehaveGPT.create(toyConfig(), 3), behaviors, locations });
    const schedule = { warmupSteps: 2, evaluateEvery: 0, minSteps: 0 };
    const budget = { learningRate: 2e-2, maxEpochs: 12, patience: 100 };
    // The long run: a check every epoch, run to the end.
    const long = fresh();
    const { result } = await trainArm(long, train, valid, {
      budget,
      batchSize: 4,
      seed: 1,
      objective,
      schedule,
      longRun: { patience: 100, maxEpochs: 12 },
    });
    long.model.dispose();
    const record = { stepsPerEpoch: 3, checks: result.history.map((h) => ({ ...h, valid: h.valid })) } as Pick<
      TuneRecord,
      'checks' | 'stepsPerEpoch'
    >;
    expect(record.checks).toHaveLength(12);
    expect(record.checks.map((c) => c.step)).toEqual(record.checks.map((_, i) => 3 * (i + 1)));
    const rules: StoppingRule[] = [
      { maxEpochs: 12, patience: 2, minSteps: 0, evaluateEvery: 0 },
      { maxEpochs: 12, patience: 1, minSteps: 0, evaluateEvery: 7 },
      { maxEpochs: 3, patience: 5, minSteps: 0, evaluateEvery: 0 },
      { maxEpochs: 2, patience: 2, minSteps: 20, evaluateEvery: 5 },
    ];
    const reasons = new Set<string>();
    for (const rule of rules) {
      const replay = simulateStopping(record, rule);
      reasons.add(replay.reason);
      const m = fresh();
      const real = await trainArm(m, train, valid, {
        budget: { learningRate: budget.learningRate, maxEpochs: rule.maxEpochs, patience: rule.patience },
        batchSize: 4,
        seed: 1,
        objective,
        schedule: { warmupSteps: 2, evaluateEvery: rule.evaluateEvery, minSteps: rule.minSteps },
      });
      m.model.dispose();
      expect(replay.truncated).toBe(false);
      expect({ epoch: replay.kept.epoch, stop: replay.stopEpoch, steps: replay.steps, reason: replay.reason }).toEqual({
        epoch: real.result.bestEpoch,
        stop: real.result.epochsRun,
        steps: real.result.steps,
        reason: real.result.stoppedEarly ? 'patience' : 'budget',
      });
      expect(replay.kept.validLoss).toBeCloseTo(real.result.best.loss, 10);
    }
    // The rules cover both ways a run ends.
    expect([...reasons].sort()).toEqual(['budget', 'patience']);
    // A rule that would run past the record is flagged, not guessed.
    expect(simulateStopping(record, { maxEpochs: 40, patience: 50, minSteps: 0, evaluateEvery: 0 }).truncated).toBe(
      true,
    );
  });

  it('chooses the cheapest candidate within the tolerance of the best mean excess', () => {
    // Two logs, two rates: 0.01 reaches the same loss as 0.001 in a third of the steps.
    const record = (dataset: string, learningRate: number, losses: number[]): TuneRecord =>
      ({
        id: `${dataset}-${learningRate}`,
        spec: { dataset, arm: 'adapted', learningRate, seed: 0 },
        stepsPerEpoch: 30,
        checks: losses.map((validLoss, i) => ({
          epoch: i + 1,
          step: 30 * (i + 1),
          trainLoss: 1,
          validLoss,
          valid: {},
        })),
      }) as unknown as TuneRecord;
    const slow = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56, 0.57, 0.58, 0.59, 0.6, 0.61, 0.62];
    const fast = [
      0.7, 0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56, 0.57, 0.58, 0.59, 0.6, 0.61, 0.62, 0.63, 0.64, 0.65, 0.66,
    ];
    const choice = chooseDefaults([
      record('a', 1e-3, slow),
      record('b', 1e-3, slow),
      record('a', 1e-2, fast),
      record('b', 1e-2, fast),
    ]);
    expect(choice.bestScore).toBe(0);
    expect(choice.chosen.candidate.learningRate).toBe(1e-2);
    expect(choice.chosen.byLog.a.kept.epoch).toBe(2);
    // The cheapest rule that still keeps epoch 2: the fewest steps over both logs.
    expect(choice.chosen.candidate.patience).toBe(2);
    expect(choice.chosen.byLog.a.steps).toBe(120);
  });
});

describe('stand-ins for an unseen vendor', () => {
  const region: BehaviorSequence[] = [
    { id: 'r0', split: 'train', events: events(6, 0) },
    { id: 'r1', split: 'valid', events: events(5, 1) },
    { id: 'r2', split: 'test', events: events(4, 2) },
  ];

  it("renames every behavior to a name without a Device: prefix, matching none of the model's, consistently; keeps time, order and split", () => {
    const { sequences, mapping } = renameBehaviors(region, 'fr');
    const original = new Set(region.flatMap((s) => s.events.map((e) => e.behavior)));
    expect(mapping.size).toBe(original.size);
    const renamed = new Set(mapping.values());
    expect(renamed.size).toBe(original.size);
    for (const name of renamed) {
      expect(name).toMatch(/^fr-\d{3}$/);
      expect(behaviors.has(name)).toBe(false);
    }
    sequences.forEach((s, i) => {
      expect(s.split).toBe(region[i].split);
      s.events.forEach((e, t) => expect({ ...e, behavior: region[i].events[t].behavior }).toEqual(region[i].events[t]));
      s.events.forEach((e, t) => expect(e.behavior).toBe(mapping.get(region[i].events[t].behavior)));
    });
    expect(renameBehaviors(region, 'fr')).toEqual({ sequences, mapping });
  });

  it('writes a canonical CSV the loaders read back, split column included', () => {
    const { sequences } = renameBehaviors(region, 'sp');
    const parsed = parseBehaviorLog(toCanonicalCsv(sequences), 'sp.csv');
    expect(parsed.sequences.map((s) => ({ id: s.id, split: s.split, events: s.events }))).toEqual(sequences);
  });

  it('a log only for choosing defaults has no test part; a small one is a nested subset of train and valid', () => {
    const big: BehaviorSequence[] = Array.from({ length: 60 }, (_, i) => ({
      id: `s${i}`,
      split: (['train', 'train', 'train', 'valid', 'test'] as const)[i % 5],
      events: events(10, i),
    }));
    expect(buildStandin({ name: 'x', region: 'fr', test: false }, big).some((s) => s.split === 'test')).toBe(false);
    expect(buildStandin({ name: 'x', region: 'fr', test: true }, big).filter((s) => s.split === 'test')).toHaveLength(
      12,
    );
    const small = smallLog(big, 170);
    expect(small.some((s) => s.split === 'test')).toBe(false);
    const count = (split: string) => small.filter((s) => s.split === split).reduce((n, s) => n + s.events.length, 0);
    expect(count('train')).toBe(140);
    expect(count('valid')).toBe(30);
  });
});

describe('?model=', () => {
  const page = 'http://127.0.0.1:4173/index.html#finetune';
  it('opens same-origin URLs only', () => {
    expect(modelUrlFromSearch('', page)).toBeNull();
    expect(modelUrlFromSearch('?model=', page)).toBeNull();
    expect(modelUrlFromSearch('?model=/models/mine/model.json', page)).toEqual({
      url: 'http://127.0.0.1:4173/models/mine/model.json',
    });
    expect(modelUrlFromSearch('?model=models/x.json', page)).toEqual({ url: 'http://127.0.0.1:4173/models/x.json' });
    expect(modelUrlFromSearch('?model=https://evil.example/model.json', page)).toEqual({
      error: expect.stringContaining('on another site (https://evil.example)'),
    });
    expect(modelUrlFromSearch('?model=//evil.example/m.json', page)).toEqual({
      error: expect.stringContaining('another site'),
    });
    expect(modelUrlFromSearch('?model=http://127.0.0.1:9999/m.json', page)).toEqual({
      error: expect.stringContaining('another site'),
    });
  });
});

describe('the own-data report', () => {
  it('says which targets were met and which missed, and writes one row per model with mean and std over seeds', async () => {
    const { ownDataReport, defaultsMismatch } = await import('../src/experiments/own-data/report');
    const { DEFAULT_FINETUNE_SETTINGS: d } = await import('../src/train/finetune-protocol');
    const m = (w1: number, w5: number, m1: number, m5: number) => ({
      'weighted_recall@1': w1,
      'weighted_recall@5': w5,
      'macro_recall@1': m1,
      'macro_recall@5': m5,
    });
    const run = (seed: number, adaptedM5: number) => ({
      id: `v-s${seed}`,
      log: 'v',
      seed,
      backend: 'wasm',
      heldOut: {
        adapted: m(0.8, 0.9, 0.3, adaptedM5),
        base: m(0, 0, 0, 0),
        'markov-2': m(0.7, 0.95, 0.2, 0.4),
        popularity: m(0.5, 0.8, 0.1, 0.1),
        scratch: m(0.75, 0.9, 0.25, 0.45),
      },
      heldOutTargets: 100,
      adapted: {
        epochs: 20,
        bestEpoch: 15,
        steps: 400,
        trainSeconds: 50,
        stop: 'patience',
        appWallSeconds: 60,
        driverWallSeconds: 60 + seed,
      },
      scratch: { epochs: 10, bestEpoch: 5, steps: 200, trainSeconds: 20, stop: 'patience' },
      totalSeconds: 90,
      settingsShown: {},
      loadAverage: { start: [2, 2, 2], end: [3, 3, 3] },
      date: '',
      commit: 'x',
    });
    const candidate = {
      learningRate: d.learningRate,
      maxEpochs: d.maxEpochs,
      patience: d.patience,
      minSteps: d.schedule.minSteps,
      evaluateEvery: d.schedule.evaluateEvery,
    };
    const scored = (c: typeof candidate) => ({ candidate: c, score: 0.01, steps: 1000, byLog: {} });
    const choice = (c: typeof candidate) => ({
      chosen: scored(c),
      bestScore: 0.01,
      withinTolerance: 1,
      perLearningRate: [],
      bestByLog: {},
    });
    const scratchCandidate = {
      learningRate: d.scratch.learningRate,
      maxEpochs: d.scratch.maxEpochs,
      patience: d.scratch.patience,
      minSteps: d.scratch.schedule.minSteps,
      evaluateEvery: d.scratch.schedule.evaluateEvery,
    };
    expect(defaultsMismatch({ adapted: choice(candidate), scratch: choice(scratchCandidate) })).toEqual([]);
    expect(
      defaultsMismatch({
        adapted: choice({ ...candidate, patience: candidate.patience + 1 }),
        scratch: choice(scratchCandidate),
      }),
    ).toEqual([`patience: ${d.patience} in the code, ${d.patience + 1} chosen`]);
    const { markdown, rows } = ownDataReport({
      choice: { adapted: choice(candidate), scratch: choice(scratchCandidate) },
      tuneRecords: [],
      evidence: [run(0, 0.5), run(1, 0.4), run(2, 0.42)],
      logs: [{ name: 'v', behaviors: 9, events: 1000 }],
      date: new Date('2026-12-07'),
      commit: 'abc',
    });
    // Adapted loses weighted R@5 to Markov-2 (0.90 vs 0.95) and macro R@5 to scratch (0.44 vs 0.45).
    expect(markdown).toContain('beats Markov-2 on every metric”: **MISSED** on weighted_recall@5');
    expect(markdown).toContain('beats from scratch on macro recall@5”: **MISSED** (44.00 vs 45.00)');
    expect(markdown).toContain('median **61 s** (runs 60, 61, 62 s');
    expect(rows).toHaveLength(5);
    const adapted = rows.find((r) => r.model.startsWith('adapted'))!;
    expect(adapted).toMatchObject({ task: 'own-data', dataset: 'v', seeds: 3, wallSecondsMedian: 61 });
    expect(adapted.metrics['macro_recall@5']).toBeCloseTo(0.44, 4);
    expect(adapted.std!['macro_recall@5']).toBeCloseTo(0.0529, 4);
    expect(rows.find((r) => r.model.startsWith('Markov'))!.std!['weighted_recall@5']).toBe(0);
  });
});
