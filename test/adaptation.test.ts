import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../src/core/results';
import { NotFinishedError, runId } from '../src/node/run-spec';
import {
  armSettings,
  BASE_CONFIG,
  crossDomainPlan,
  crossDomainSpec,
  K_SHOT_GRID,
  K_TUNE,
  kShotSpec,
  LEARNING_RATES,
  PRETRAIN_WITHOUT,
  US_RUN,
  zeroShotSpec,
} from '../src/experiments/adaptation/plan';
import { cell, matchingBootstrap, type GainBootstrap } from '../src/experiments/adaptation/report';
import { bestOnValid, chosenKShotSetting, chosenSetting } from '../src/experiments/adaptation/select';
import { fakeRecord, lookupOf } from './records';

const setup = { modelsDir: '/somewhere/models' };

describe('adaptation plan', () => {
  it("the fine-tuned arm starts from the US run's kept model and ranks the target's train behaviors; scratch has the base network", () => {
    const ft = crossDomainSpec(setup, 'fr', 'fine-tuned', 0.1, 2, { learningRate: 1e-3, aligned: true });
    expect(ft).toMatchObject({
      dataset: 'fr',
      fraction: 0.1,
      seed: 2,
      init: `/somewhere/models/${runId(US_RUN)}`,
      alignPrior: true,
      rankTrainBehaviors: true,
    });
    expect(ft.train).toEqual({
      minSteps: 600,
      patience: 10,
      evaluateEvery: 20,
      learningRate: 1e-3,
      startCompetes: true,
    });
    const scratch = crossDomainSpec(setup, 'fr', 'scratch', 1, 0, { learningRate: 3e-3, aligned: false });
    expect(scratch.config).toBe(BASE_CONFIG);
    expect(scratch.init).toBeUndefined();
    expect('fraction' in scratch).toBe(false); // the full split is no fraction: ids as before fractions existed
  });

  it('ids name the base model folder, not where the models are kept', () => {
    const elsewhere = { modelsDir: 'runs/models' };
    const spec = (s: typeof setup) =>
      crossDomainSpec(s, 'sp', 'fine-tuned', 1, 0, { learningRate: 1e-3, aligned: false });
    expect(runId(spec(setup))).toBe(runId(spec(elsewhere)));
    expect(runId(zeroShotSpec(setup, 'sp'))).toBe(runId(zeroShotSpec(elsewhere, 'sp')));
  });

  it('tries both alignments only for the fine-tuned arm', () => {
    expect(armSettings('fine-tuned')).toHaveLength(2 * LEARNING_RATES.length);
    expect(armSettings('scratch').every((s) => !s.aligned)).toBe(true);
  });

  it('the cross-domain plan starts with the pretraining without the new behaviors and zero-shot', () => {
    const plan = crossDomainPlan(setup, () => ({ learningRate: 1e-3, aligned: false }));
    expect(plan[0]).toBe(PRETRAIN_WITHOUT);
    expect(plan.slice(1, 3).map((s) => s.train)).toEqual([{ epochs: 0 }, { epochs: 0 }]);
    expect(plan).toHaveLength(3 + 3 * 2 * 3 * 2);
  });
});

describe('adaptation choices on valid', () => {
  it('bestOnValid: the highest score, the first of equals; unfinished while a run is missing', () => {
    const specs = [0, 1, 2].map((seed) => ({ ...US_RUN, seed }));
    const records = lookupOf(specs.map((s, i) => fakeRecord(s, { 'macro_recall@5': [0.3, 0.5, 0.5][i] })));
    expect(
      bestOnValid(
        records,
        'x',
        [0, 1, 2],
        (i) => specs[i],
        (r) => r.valid['macro_recall@5'],
      ),
    ).toBe(1);
    expect(() =>
      bestOnValid(
        lookupOf([]),
        'the thing',
        [0],
        (i) => specs[i],
        () => 0,
      ),
    ).toThrow(new NotFinishedError('the thing is not finished'));
  });

  it('the learning rate and alignment with the lowest valid loss, per target, arm and fraction', () => {
    const settings = armSettings('fine-tuned');
    const losses = settings.map((_, i) => (i === 7 ? 0.9 : 1 + i / 100));
    const records = lookupOf(
      settings.map((s, i) => fakeRecord(crossDomainSpec(setup, 'sp', 'fine-tuned', 0.01, 0, s), { loss: losses[i] })),
    );
    expect(chosenSetting(records, setup, 'sp', 'fine-tuned', 0.01)).toEqual(settings[7]);
    expect(() => chosenSetting(records, setup, 'fr', 'fine-tuned', 0.01)).toThrow(
      'tuning for fr fine-tuned 0.01 (run --phase tune) is not finished',
    );
  });

  it('the k-shot setting with the best valid macro R@5 at k = K_TUNE', () => {
    const records = lookupOf(
      K_SHOT_GRID.map((s, i) => fakeRecord(kShotSpec(setup, K_TUNE, 0, s), { 'macro_recall@5': i === 5 ? 0.8 : 0.1 })),
    );
    expect(chosenKShotSetting(records, setup)).toEqual(K_SHOT_GRID[5]);
  });
});

describe('adaptation report', () => {
  const row = (seeds: number, m: number, std?: number): ResultRow => ({
    task: 't',
    dataset: 'sp',
    model: 'm',
    seeds,
    metrics: { k: m },
    ...(std !== undefined ? { std: { k: std } } : {}),
  });

  it('cells: mean ± std over several seeds, no ± for one run, a dash when missing', () => {
    expect(cell(row(3, 0.1234, 0), 'k')).toBe('12.34 ± 0.00');
    expect(cell(row(3, 0.1234, 0.011), 'k')).toBe('12.34 ± 1.10');
    expect(cell(row(1, 0.5, 0), 'k')).toBe('50.00');
    expect(cell(undefined, 'k')).toBe('—');
    expect(cell(row(3, 0.5), 'other')).toBe('—');
  });

  it('uses a saved bootstrap only when it was computed from the runs and gain shown', () => {
    const saved: GainBootstrap = {
      target: 'fr',
      fraction: 1,
      runs: ['a', 'b'],
      estimate: 0.2,
      low: 0.03,
      high: 0.4,
      median: 0.23,
      level: 0.95,
      resamples: 1000,
    };
    const logged: string[] = [];
    const input = { bootstraps: [saved], bootstrapFile: 'results/x.json', log: (l: string) => logged.push(l) };
    expect(matchingBootstrap(input, 'fr', 1, ['a', 'b'], 0.2)).toBe(saved);
    expect(matchingBootstrap(input, 'fr', 0.1, ['a', 'b'], 0.2)).toBeUndefined();
    expect(logged).toEqual([]);
    expect(matchingBootstrap(input, 'fr', 1, ['a', 'c'], 0.2)).toBeUndefined();
    expect(matchingBootstrap(input, 'fr', 1, ['a', 'b'], 0.21)).toBeUndefined();
    expect(logged).toEqual([
      'results/x.json: fr 1 was computed from other runs or results; rerun --phase bootstrap',
      'results/x.json: fr 1 was computed from other runs or results; rerun --phase bootstrap',
    ]);
  });
});
