import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../src/core/results';
import { NotFinishedError, runId, type RunRecord } from '../src/node/run-spec';
import {
  CANDIDATES,
  CE,
  mainPlan,
  neuralSpec,
  timeHeadPlan,
  tunePlan,
  tuneSpec,
  type NextBehaviorSetup,
} from '../src/experiments/next-behavior/plan';
import { architecture, neuralRows, resultsTable, targetChecks } from '../src/experiments/next-behavior/report';
import { bestDroRun, keptTimeHeadRun, selectObjective } from '../src/experiments/next-behavior/select';
import { fakeRecord, lookupOf } from './records';

const setup: NextBehaviorSetup = { size: 's', datasets: ['us', 'sp'], seeds: [0, 1] };
const la = CANDIDATES['logit-adjusted'];
const tuned = (i: number, r1: number, m5: number) =>
  fakeRecord(tuneSpec(setup, la[i]), { 'weighted_recall@1': r1, 'macro_recall@5': m5 });
const ce = fakeRecord(tuneSpec(setup, CE), { 'weighted_recall@1': 0.5, 'macro_recall@5': 0.3 });

describe('next-behavior plan', () => {
  it('tunes every candidate on US seed 0 at the chosen size, cross-entropy first', () => {
    const plan = tunePlan(setup);
    expect(plan).toHaveLength(1 + CANDIDATES.dro.length + 3 + 3);
    expect(plan[0]).toEqual({
      dataset: 'us',
      objective: CE,
      seed: 0,
      config: {
        behaviorDim: 24,
        weekdayDim: 4,
        slotDim: 4,
        locationDim: 0,
        targetDim: 8,
        numLayers: 1,
        numHeads: 2,
        headHidden: 48,
      },
    });
    expect(plan.every((s) => s.dataset === 'us' && s.seed === 0)).toBe(true);
  });

  it('runs CE, the chosen objectives and the context-free ablation per dataset and seed', () => {
    const chosen = [{ name: 'dro' as const, dro: { radius: 0.1 } }];
    const plan = mainPlan(setup, chosen);
    expect(plan.map(runId).slice(0, 3)).toEqual([
      runId(neuralSpec(setup, 'us', CE, 0)),
      runId(neuralSpec(setup, 'us', chosen[0], 0)),
      runId(neuralSpec(setup, 'us', CE, 0, true)),
    ]);
    expect(plan).toHaveLength(2 * 2 * 3);
    expect(plan[2].config?.useContext).toBe(false);
    expect(runId(plan[2])).toMatch(/^us-context-free-ce-behaviorDim24-/);
  });

  it('size m (DEFAULT_CONFIG) runs carry no config, so their ids are as before sizes existed', () => {
    const m = { ...setup, size: 'm' };
    expect(runId(tuneSpec(m, CE))).toBe('us-behavegpt-ce-s0');
    expect(runId(neuralSpec(m, 'us', CE, 1, true))).toBe('us-context-free-ce-s1');
  });

  it('the time-head plan adds a detached and a joint time head to the shipped run', () => {
    const [detached, joint] = timeHeadPlan(neuralSpec(setup, 'us', CE, 0));
    expect(detached.config?.timeHead).toBe(true);
    expect(detached.train).toBeUndefined();
    expect(joint.train).toEqual({ timeHead: { weight: 1, detached: false } });
  });
});

describe('next-behavior choices on valid', () => {
  it('picks the best valid macro R@5 among candidates within 1 point of CE valid R@1', () => {
    const records = lookupOf([ce, tuned(0, 0.495, 0.4), tuned(1, 0.492, 0.45), tuned(2, 0.48, 0.6)]);
    expect(selectObjective(records, setup, 'logit-adjusted')).toEqual({
      spec: la[1],
      why: 'best valid macro R@5 within 1 point of CE valid R@1',
    });
  });

  it('with none within the bound, the one closest to it', () => {
    const records = lookupOf([ce, tuned(0, 0.47, 0.4), tuned(1, 0.485, 0.3), tuned(2, 0.48, 0.6)]);
    expect(selectObjective(records, setup, 'logit-adjusted')).toEqual({
      spec: la[1],
      why: 'no candidate within 1 point of CE valid R@1: closest one',
    });
  });

  it('keeps the first of equal candidates', () => {
    const records = lookupOf([ce, tuned(0, 0.5, 0.4), tuned(1, 0.5, 0.4), tuned(2, 0.5, 0.4)]);
    expect(selectObjective(records, setup, 'logit-adjusted').spec).toBe(la[0]);
  });

  it('says which tuning is unfinished while a run (or CE) is missing', () => {
    expect(() => selectObjective(lookupOf([ce, tuned(0, 0.5, 0.4)]), setup, 'logit-adjusted')).toThrow(
      NotFinishedError,
    );
    expect(() =>
      selectObjective(lookupOf([tuned(0, 0.5, 0.4), tuned(1, 0.5, 0.4), tuned(2, 0.5, 0.4)]), setup, 'logit-adjusted'),
    ).toThrow('tuning for logit-adjusted is not finished (run --phase tune first)');
  });

  it('ships the US DRO run with the best valid macro R@5, never Spain or the ablation', () => {
    const dro = { name: 'dro' as const, dro: { radius: 0.1 } };
    const plan = mainPlan(setup, [dro]);
    const droUs = plan.filter((s) => s.dataset === 'us' && s.objective === dro);
    const records = lookupOf([
      fakeRecord(droUs[0], { 'macro_recall@5': 0.4 }),
      fakeRecord(droUs[1], { 'macro_recall@5': 0.45 }),
      fakeRecord(plan.find((s) => s.dataset === 'sp' && s.objective === dro)!, { 'macro_recall@5': 0.9 }),
      fakeRecord(plan.find((s) => s.config?.useContext === false)!, { 'macro_recall@5': 0.95 }),
    ]);
    expect(bestDroRun(records, plan).spec).toEqual(droUs[1]);
    expect(() => bestDroRun(lookupOf([]), plan)).toThrow('no finished US DRO run to ship');
  });

  it('keeps the joint time head only with a lower valid loss', () => {
    const [d, j] = timeHeadPlan(neuralSpec(setup, 'us', CE, 0));
    const detached = fakeRecord(d, { loss: 1.5 });
    expect(keptTimeHeadRun(detached, fakeRecord(j, { loss: 1.49 })).spec).toBe(j);
    expect(keptTimeHeadRun(detached, fakeRecord(j, { loss: 1.5 })).spec).toBe(d);
  });
});

describe('next-behavior report', () => {
  const runs = (spec: ReturnType<typeof neuralSpec>, values: number[]): RunRecord[] =>
    values.map((v, seed) => fakeRecord({ ...spec, seed }, {}, { 'weighted_recall@1': v, mrr: v }, { parameters: 77 }));

  it('groups seeds into one row per setting and target set, with mean and sample std; labels the ablation', () => {
    const records = [
      ...runs(neuralSpec(setup, 'us', CE, 0), [0.5, 0.6]),
      ...runs(neuralSpec(setup, 'us', CE, 0, true), [0.4, 0.4]),
    ];
    const rows = neuralRows(records);
    expect(rows.map((r) => [r.model, r.targets, r.seeds])).toEqual([
      ['BehaveGPT (cross-entropy)', 'all', 2],
      ['BehaveGPT (cross-entropy)', 'no-refresh', 2],
      ['Context-free transformer (CE)', 'all', 2],
      ['Context-free transformer (CE)', 'no-refresh', 2],
    ]);
    expect(rows[0].metrics['weighted_recall@1']).toBe(0.55);
    expect(rows[0].std!['weighted_recall@1']).toBe(0.0707);
    expect(rows[0].parameters).toBe(77);
    expect(rows[2].objective).toBe('ce');
  });

  it('tables percentages, ± only over several seeds, a dash for a missing metric', () => {
    const rows: ResultRow[] = [
      {
        task: 't',
        dataset: 'us',
        model: 'A',
        seeds: 3,
        metrics: { 'weighted_recall@1': 0.12345 },
        std: { 'weighted_recall@1': 0.01 },
      },
      { task: 't', dataset: 'us', model: 'B', seeds: 0, metrics: { 'weighted_recall@1': 0.5 } },
    ];
    const [head, rule, a, b] = resultsTable(rows).split('\n');
    expect(head.startsWith('| model | seeds | weighted_recall@1 | weighted_recall@5 |')).toBe(true);
    expect(rule).toBe(`|${Array(12).fill('---').join('|')}|`);
    expect(a.startsWith('| A | 3 | 12.35 ± 1.00 | – |')).toBe(true);
    expect(b.startsWith('| B | – | 50.00 | – |')).toBe(true);
  });

  it('checks the targets on US test: met and missed as the figures say', () => {
    const row = (model: string, objective: string, m: Record<string, number>): ResultRow => ({
      task: 't',
      dataset: 'us',
      targets: 'all',
      model,
      objective,
      metrics: m,
    });
    const figures = (m1: number, m5: number, r1: number, r5: number) => ({
      'macro_recall@1': m1,
      'macro_recall@5': m5,
      'weighted_recall@1': r1,
      'weighted_recall@5': r5,
    });
    const rows = [
      row('BehaveGPT (DRO)', 'dro', figures(0.25, 0.5, 0.53, 0.9)),
      row('BehaveGPT (cross-entropy)', 'ce', figures(0.2, 0.4, 0.55, 0.92)),
      row('BehaveGPT (logit-adjusted CE)', 'logit-adjusted', figures(0.2, 0.52, 0.5, 0.9)),
      row('BehaveGPT (class-balanced CE)', 'class-balanced', figures(0.2, 0.4, 0.5, 0.9)),
      row('markov-2', 'none', figures(0.1, 0.3, 0.56, 0.9)),
    ];
    expect(targetChecks(rows)).toEqual([
      '- **met**: DRO macro_recall@1 25.00 vs best of CE and baselines (BehaveGPT (cross-entropy)) 20.00: 25.0% relative (target ≥ +10%)',
      '- **met**: DRO macro_recall@5 50.00 vs best of CE and baselines (BehaveGPT (cross-entropy)) 40.00: 25.0% relative (target ≥ +10%)',
      '- **MISSED**: DRO weighted_recall@1 53.00 vs CE 55.00: -2.00 points (target ≥ −1)',
      '- **MISSED**: DRO weighted_recall@5 90.00 vs CE 92.00: -2.00 points (target ≥ −1)',
      '- **MISSED**: DRO macro_recall@5 50.00 vs BehaveGPT (logit-adjusted CE) 52.00',
      '- **met**: DRO macro_recall@5 50.00 vs BehaveGPT (class-balanced CE) 40.00',
      '- **MISSED**: best BehaveGPT weighted_recall@1 (BehaveGPT (cross-entropy)) 55.00 vs best baseline (markov-2) 56.00',
    ]);
    expect(targetChecks(rows.slice(1))).toEqual(['Targets: not all runs are finished.']);
  });

  it('names the architecture: a scaling size with its dimensions, or DEFAULT_CONFIG', () => {
    expect(architecture('s')).toBe(
      'BehaveGPT (src/model/behavegpt.ts) at scaling size "s" (behaviorDim 24, weekdayDim 4, slotDim 4, locationDim 0, targetDim 8, numLayers 1, numHeads 2, headHidden 48; docs/SCALING.md), the shipped architecture',
    );
    expect(architecture('m')).toBe('BehaveGPT (src/model/behavegpt.ts) with DEFAULT_CONFIG (scaling size "m")');
  });
});
