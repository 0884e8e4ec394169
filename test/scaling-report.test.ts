import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScalingReport, type ScalingCell, type ScalingReport } from '../src/core/scaling-report';
import { runId } from '../src/node/run-spec';
import { FRACTIONS, MIN_STEPS, scalingPlan } from '../src/experiments/scaling/plan';
import { breakdowns, reading, seedMeans } from '../src/experiments/scaling/report';

const cell = (
  size: string,
  n: number,
  fraction: number,
  seed: number,
  testLoss: number,
  epochs: [number, number] = [3, 5],
): ScalingCell => ({
  size,
  fraction,
  seed,
  parameters: n * 2,
  nonEmbeddingParameters: n,
  trainTargets: Math.round(96_000 * fraction),
  targetsSeen: 0,
  bestEpoch: epochs[0],
  epochsRun: epochs[1],
  testLoss,
  validLoss: testLoss,
  'weighted_recall@5': 0.9,
  'macro_recall@5': 0.4,
  seconds: 10,
});

describe('scaling grid', () => {
  it('runs every size × fraction × seed, cheapest first; small fractions get a step floor', () => {
    const plan = scalingPlan([0, 1]);
    expect(plan).toHaveLength(4 * FRACTIONS.length * 2);
    expect(plan.slice(0, 4).map((c) => [c.size, c.spec.fraction, c.spec.seed])).toEqual([
      ['xs', 0.0625, 0],
      ['s', 0.0625, 0],
      ['m-', 0.0625, 0],
      ['m', 0.0625, 0],
    ]);
    expect(plan[0].spec.train).toEqual({ minSteps: MIN_STEPS });
    const full = plan.filter((c) => c.spec.fraction === undefined);
    expect(full).toHaveLength(8);
    expect(full.every((c) => c.spec.train === undefined)).toBe(true);
    // Size m is DEFAULT_CONFIG: its cells carry no config, so their ids are the plain cross-entropy runs'.
    expect(runId(full.find((c) => c.size === 'm' && c.spec.seed === 0)!.spec)).toBe('us-behavegpt-ce-s0');
  });
});

describe('scaling report', () => {
  it('seed means per x, sorted', () => {
    const cells = [cell('a', 200, 1, 0, 2), cell('a', 200, 1, 1, 3), cell('b', 100, 1, 0, 4)];
    expect(seedMeans(cells, (c) => c.nonEmbeddingParameters)).toEqual([
      { x: 100, loss: 4 },
      { x: 200, loss: 2.5 },
    ]);
  });

  it('notes every fraction where a larger model is no better', () => {
    const cells = [
      cell('a', 1000, 0.5, 0, 2),
      cell('b', 20000, 0.5, 0, 2.1),
      cell('a', 1000, 1, 0, 2),
      cell('b', 20000, 1, 0, 1.9),
    ];
    expect(breakdowns(cells)).toEqual([
      '- fraction 0.5: 20,000 non-embedding parameters is no better than 1,000 (test loss 2.1000 vs 2.0000).',
    ]);
  });

  it('reads the committed fit: α at its bound, the data law, the capped cells', () => {
    const report = parseScalingReport(JSON.parse(readFileSync('docs/scaling.json', 'utf8')));
    const lines = reading(report).split('\n');
    expect(lines[0]).toMatch(/^- Size with the lowest mean test loss at each train fraction \(N, loss\): 0\.0625: /);
    expect(lines.some((l) => l.startsWith('- α sits at its bound'))).toBe(
      report.law.alpha >= 2.99 || report.law.alpha <= 0.001,
    );
    expect(lines.some((l) => l.startsWith('- Data size is where the law holds'))).toBe(true);
  });

  it('an exponent inside its bounds is reported with its interval; capped cells are listed', () => {
    const cells = [cell('xs', 1000, 1, 0, 2, [5, 5]), cell('s', 10000, 1, 0, 1.8)];
    const interval = (estimate: number) => ({ estimate, low: estimate - 0.1, high: estimate + 0.1 });
    const law = {
      E: 1,
      A: 10,
      alpha: 0.5,
      B: 20,
      beta: 0.4,
      r2: 0.9,
      intervals: { alpha: interval(0.5), beta: interval(0.4), E: interval(1) },
    };
    const report: ScalingReport = {
      date: '',
      commit: '',
      dataset: 'us',
      cells,
      law,
      lawN: { E: 1, A: 1, alpha: 0.5, r2: 0.9 },
      lawD: { E: 1, A: 1, alpha: 0.4, r2: 0.95 },
    };
    const lines = reading(report).split('\n');
    expect(lines[1]).toBe('- Model size: α = 0.500 [0.400, 0.600].');
    expect(lines[3]).toMatch(
      /^- 1 of 2 cells had their best epoch at their last one \(xs 1 s0\): the epoch cap \(24 epochs, or 3,000 steps\)/,
    );
  });
});
