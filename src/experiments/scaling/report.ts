/**
 * The scaling report: grid cells from run records, the fitted laws (docs/scaling.json, the app's
 * Scaling view) and docs/SCALING.md. Pure: records and the train split come in as arguments.
 */
import { nestedSubset } from '../../core/data';
import type { BehaviorSequence } from '../../core/events';
import { bootstrapLaw2D, fitLaw1D, fitLaw2D, logR2, predict1D, predict2D, type ScalingPoint } from '../../core/scaling';
import type { ScalingCell, ScalingReport } from '../../core/scaling-report';
import { countParameters, DEFAULT_CONFIG, isEmbeddingParameter } from '../../model/behavegpt';
import { buildVocabularies, SHIPPED_SIZE, SIZES } from '../../train/recipe';
import type { RunRecord } from '../../node/run-spec';
import { countTrainTargets, runConfig } from '../../node/runs';
import { markdownTable, pct, thousands } from '../format';
import { FRACTIONS, MIN_STEPS } from './plan';

const f3 = (x: number) => x.toFixed(3);
const f4 = (x: number) => x.toFixed(4);
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The US train split every cell draws from. Records older than the grid lack their counts,
 * which are recomputed as runOne computes them (every cell has the whole split's vocabulary).
 */
export class GridData {
  private vocabularies?: ReturnType<typeof buildVocabularies>;
  constructor(readonly train: readonly BehaviorSequence[]) {}

  /** The model config a record's run had. */
  config(record: RunRecord) {
    this.vocabularies ??= buildVocabularies(this.train);
    return runConfig(record.spec, this.vocabularies);
  }
}

/** A record as a cell of the grid. */
export function cellOf(size: string, record: RunRecord, grid: GridData): ScalingCell {
  const fraction = record.spec.fraction ?? 1;
  const config = grid.config(record);
  const trainTargets =
    record.trainTargets ?? countTrainTargets(nestedSubset(grid.train, fraction), config.contextLength);
  return {
    size,
    fraction,
    seed: record.spec.seed,
    parameters: record.parameters,
    nonEmbeddingParameters: record.nonEmbeddingParameters ?? countParameters(config, (n) => !isEmbeddingParameter(n)),
    trainTargets,
    targetsSeen: record.targetsSeen ?? trainTargets * record.epochsRun,
    epochsRun: record.epochsRun,
    bestEpoch: record.bestEpoch,
    testLoss: record.testLoss,
    validLoss: record.valid.loss,
    'weighted_recall@5': record.test.all['weighted_recall@5'],
    'macro_recall@5': record.test.all['macro_recall@5'],
    seconds: record.seconds,
  };
}

/** Where the shipped model sits: N counts its behavior network only (its time head takes no part in behavior prediction), as for the grid. */
export function shippedPoint(name: string, record: RunRecord, grid: GridData): NonNullable<ScalingReport['shipped']> {
  const cell = cellOf('shipped', record, grid);
  const timeHead = countParameters(grid.config(record), (n) => n.startsWith('time.'));
  return {
    name: `${name} (${record.spec.objective.name})`,
    nonEmbeddingParameters: cell.nonEmbeddingParameters - timeHead,
    trainTargets: cell.trainTargets,
    testLoss: record.testLoss,
  };
}

/** Seed means of test loss grouped by a key, sorted by x. */
export function seedMeans(cells: readonly ScalingCell[], x: (c: ScalingCell) => number): { x: number; loss: number }[] {
  const groups = new Map<number, number[]>();
  for (const c of cells) groups.set(x(c), [...(groups.get(x(c)) ?? []), c.testLoss]);
  return [...groups].map(([k, v]) => ({ x: k, loss: mean(v) })).sort((a, b) => a.x - b.x);
}

/** The laws fitted to the cells: L(N, D) with bootstrap intervals over seeds, L(N) at the full split, L(D) at the largest size. */
export function fitScaling(
  cells: ScalingCell[],
  meta: Pick<ScalingReport, 'date' | 'commit' | 'dataset' | 'shipped'>,
): ScalingReport {
  const points: ScalingPoint[] = cells.map((c) => ({
    n: c.nonEmbeddingParameters,
    d: c.trainTargets,
    loss: c.testLoss,
    seed: c.seed,
  }));
  const { law } = fitLaw2D(points);
  const intervals = bootstrapLaw2D(points, 200, 0);
  const r2 = logR2(
    points.map((p) => predict2D(law, p.n, p.d)),
    points.map((p) => p.loss),
  );
  const largestN = Math.max(...cells.map((c) => c.nonEmbeddingParameters));
  const fullD = Math.max(...cells.map((c) => c.trainTargets));
  const byN = seedMeans(
    cells.filter((c) => c.trainTargets === fullD),
    (c) => c.nonEmbeddingParameters,
  );
  const byD = seedMeans(
    cells.filter((c) => c.nonEmbeddingParameters === largestN),
    (c) => c.trainTargets,
  );
  const fit1D = (series: { x: number; loss: number }[]) => {
    const fitted = fitLaw1D(
      series.map((p) => p.x),
      series.map((p) => p.loss),
    ).law;
    return {
      ...fitted,
      r2: logR2(
        series.map((p) => predict1D(fitted, p.x)),
        series.map((p) => p.loss),
      ),
    };
  };
  const { date, commit, dataset, shipped } = meta;
  return { date, commit, dataset, cells, law: { ...law, r2, intervals }, lawN: fit1D(byN), lawD: fit1D(byD), shipped };
}

/** Where the law does not describe the data: sizes whose loss does not fall with N at a given D. */
export function breakdowns(cells: readonly ScalingCell[]): string[] {
  const notes: string[] = [];
  const fractions = [...new Set(cells.map((c) => c.fraction))].sort((a, b) => a - b);
  const sizes = [...new Set(cells.map((c) => c.nonEmbeddingParameters))].sort((a, b) => a - b);
  for (const fraction of fractions) {
    const losses = sizes.map((n) =>
      mean(cells.filter((c) => c.fraction === fraction && c.nonEmbeddingParameters === n).map((c) => c.testLoss)),
    );
    for (let i = 1; i < losses.length; i++) {
      if (Number.isFinite(losses[i]) && Number.isFinite(losses[i - 1]) && losses[i] >= losses[i - 1]) {
        const which = `${thousands(sizes[i])} non-embedding parameters is no better than ${thousands(sizes[i - 1])}`;
        notes.push(`- fraction ${fraction}: ${which} (test loss ${f4(losses[i])} vs ${f4(losses[i - 1])}).`);
      }
    }
  }
  return notes;
}

/** What the fit says, from the numbers: where the minimum sits, and whether an exponent hit its bound. */
export function reading(r: ScalingReport): string {
  const lines: string[] = [];
  const fractions = [...new Set(r.cells.map((c) => c.fraction))].sort((a, b) => a - b);
  const best = fractions.map((f) => {
    const bySize = seedMeans(
      r.cells.filter((c) => c.fraction === f),
      (c) => c.nonEmbeddingParameters,
    );
    const min = bySize.reduce((a, b) => (b.loss < a.loss ? b : a));
    return `${f}: ${thousands(min.x)} (${f4(min.loss)})`;
  });
  lines.push(`- Size with the lowest mean test loss at each train fraction (N, loss): ${best.join('; ')}.`);
  const { alpha, beta } = r.law.intervals;
  const atBound = (x: number) => x >= 2.99 || x <= 0.001;
  if (atBound(r.law.alpha)) {
    lines.push(
      [
        `- α sits at its bound (${f3(r.law.alpha)}): the fitted model-size term only models the step up from the smallest size and is flat beyond it.`,
        'On 96k training events, models above about 15k non-embedding parameters do not lower the test loss at any fraction',
        '(at small fractions their best epoch comes earlier: they overfit sooner), so this grid shows no model-size power law:',
        'the data is too small for one. Its α and the size term should not be extrapolated.',
      ].join(' '),
    );
  } else lines.push(`- Model size: α = ${f3(r.law.alpha)} [${f3(alpha.low)}, ${f3(alpha.high)}].`);
  const lawD = `L(D) = ${f3(r.lawD.E)} + ${r.lawD.A.toPrecision(3)}/D^${f3(r.lawD.alpha)}`;
  lines.push(
    [
      `- Data size is where the law holds: at the largest size, ${lawD} explains ${(r.lawD.r2 * 100).toFixed(1)}% of the variance of log loss`,
      `over ${fractions.length} fractions (16× in D), and the 2-D fit gives β = ${f3(r.law.beta)} [${f3(beta.low)}, ${f3(beta.high)}].`,
      'Doubling the data lowered the loss at every size; more data, not more parameters, is what this model family needs here.',
    ].join(' '),
  );
  const capped = r.cells.filter((c) => c.bestEpoch === c.epochsRun);
  if (capped.length) {
    lines.push(
      [
        `- ${capped.length} of ${r.cells.length} cells had their best epoch at their last one`,
        `(${capped.map((c) => `${c.size} ${c.fraction} s${c.seed}`).join(', ')}):`,
        `the epoch cap (24 epochs, or ${thousands(MIN_STEPS)} steps) ended them while valid loss was still falling, so their loss is slightly pessimistic.`,
      ].join(' '),
    );
  }
  lines.push(
    [
      '- Seed-to-seed spread is large at small fractions (see the table), which is why the intervals are wide;',
      'with 2 seeds a bootstrap over seeds has only three distinct replicates (seed 0 twice, seed 1 twice, both),',
      'so each interval is the range of those three fits and an estimate can sit at its edge.',
    ].join(' '),
  );
  return lines.join('\n');
}

export interface ScalingMarkdownInput {
  report: ScalingReport;
  /** Run ids of the grid without a record yet. */
  missing: readonly string[];
  /** The PNG paths (under docs/). */
  plots: readonly string[];
  seeds: number;
}

/** docs/SCALING.md. */
export function scalingMarkdown(input: ScalingMarkdownInput): string {
  const r = input.report;
  const sections = [
    '# Scaling law of behavior modelling (US SmartThings)',
    [
      `Generated by \`npm run scaling\` on ${r.date.slice(0, 10)}, commit \`${r.commit}\`. Every number is on the **test** split;`,
      "epochs were chosen by early stopping on **valid** cross-entropy. Machine-readable: `docs/scaling.json` (the app's Scaling view reads it).",
    ].join('\n'),
    '## Method',
    method(input),
    '## Fitted law',
    fittedLaw(r),
  ];
  const shipped = r.shipped
    ? `\nThe shipped model (${r.shipped.name}) has N = ${thousands(r.shipped.nonEmbeddingParameters)}, D = ${thousands(r.shipped.trainTargets)};` +
      ` its test cross-entropy is ${f4(r.shipped.testLoss)}. It is trained with DRO, which trades average log-loss for tail behaviors,` +
      ' so it sits above the cross-entropy curve by design.\n'
    : '';
  const notes = breakdowns(r.cells);
  const rest = [
    '## Where the law does not hold',
    notes.length ? notes.join('\n') : '- Loss falls with N at every fraction.',
    '## Reading',
    reading(r),
    '## Plots',
    input.plots.map((p) => `![${p}](${p.replace(/^docs\//, '')})`).join('\n\n'),
    '## Cells',
    cellsTable(r),
    '## Reproduce',
    '```\nnpm run scaling -- --phase run --shard 0/2 & npm run scaling -- --phase run --shard 1/2; wait\nnpm run scaling -- --phase report\n```\n',
  ];
  // The shipped model's paragraph sits between the 1-D laws and the next heading, one blank line either side.
  return `${sections.join('\n\n')}\n${shipped}\n${rest.join('\n\n')}`;
}

function method({ report: r, missing, seeds }: ScalingMarkdownInput): string {
  const sizeNames = Object.keys(SIZES);
  const hidden = { dropout: undefined, contextLength: undefined, useContext: undefined, mlpRatio: undefined };
  const sizes = Object.entries(SIZES)
    .map(([name, c]) => `\`${name}\`: ${JSON.stringify({ ...DEFAULT_CONFIG, ...c, ...hidden }).replace(/"/g, '')}`)
    .join('; ');
  const hours = r.cells.reduce((s, c) => s + c.seconds, 0) / 3600;
  const cellCount = sizeNames.length * FRACTIONS.length * seeds;
  const unfinished = missing.length ? `, of which ${missing.length} are not finished yet` : '';
  const grid =
    `${sizeNames.length} model sizes × ${FRACTIONS.length} train fractions (${FRACTIONS.join(', ')};` +
    ` nested subsets of whole train sequences, one fixed permutation) × ${seeds} seeds = ${cellCount} cells${unfinished}.`;
  const training =
    'All cells: plain cross-entropy, AdamW 3e-3, batch 64, warm-up 100 steps + cosine,' +
    ` at most 24 epochs but at least ${thousands(MIN_STEPS)} steps (small fractions run more epochs), patience 5 epochs;` +
    ` wall time ${hours.toFixed(2)} h of training on 2 CPU cores (two cells at a time).`;
  return [
    `- Grid: ${grid}`,
    `  Sizes (${sizes}); \`${SHIPPED_SIZE}\` is the shipped architecture. ${training}`,
    '- N = non-embedding parameters (everything except the input/target embedding tables and the output layer over behaviors,',
    '  Kaplan et al. 2020). D = training targets (events) in the subset — unique data, since small subsets are seen for more epochs;',
    '  "targets seen" (D × epochs run) is in the table.',
    '- L = mean test cross-entropy (nats per target over all test targets whose behavior occurs in the full train split;' +
      " every cell uses the full train split's vocabulary, so all cells score the same targets).",
    '- Fit: L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022, approach 3): Huber loss (δ = 10⁻³) on log L, Nelder–Mead from a',
    '  grid of 32 starts, α, β ∈ [0, 3], E ∈ (0, min L] (src/core/scaling.ts; the fitter is tested on synthetic points with known exponents).',
    '  Intervals: 90% percentile bootstrap over seeds (200 replicates; each replicate resamples whole seeds and refits).',
    '- 1-D laws: L(N) = E + A/N^α over sizes at the full train split, L(D) = E + B/D^β over fractions at the largest size (seed means).',
  ].join('\n');
}

function fittedLaw(r: ScalingReport): string {
  const iv = r.law.intervals;
  const row = (name: string, i: { estimate: number; low: number; high: number }) => [
    name,
    f3(i.estimate),
    `[${f3(i.low)}, ${f3(i.high)}]`,
  ];
  const intervals = markdownTable(
    ['quantity', 'estimate', '90% bootstrap interval'],
    [row('α (model size)', iv.alpha), row('β (data size)', iv.beta), row('E (irreducible loss)', iv.E)],
  );
  const table = `${intervals}\n| R² of log L over all cells | ${f4(r.law.r2)} | |`;
  const lawN = `L(N) = ${f3(r.lawN.E)} + ${r.lawN.A.toPrecision(3)} / N^${f3(r.lawN.alpha)} (R² ${f4(r.lawN.r2)})`;
  const lawD = `L(D) = ${f3(r.lawD.E)} + ${r.lawD.A.toPrecision(3)} / D^${f3(r.lawD.alpha)} (R² ${f4(r.lawD.r2)})`;
  return [
    `L(N, D) = ${f3(r.law.E)} + ${r.law.A.toPrecision(3)} / N^${f3(r.law.alpha)} + ${r.law.B.toPrecision(3)} / D^${f3(r.law.beta)}`,
    table,
    `1-D: ${lawN}; ${lawD}.`,
  ].join('\n\n');
}

function cellsTable(r: ScalingReport): string {
  const header = [
    'size',
    'N (non-emb.)',
    'params',
    'fraction',
    'D (targets)',
    'seed',
    'targets seen',
    'best/run epochs',
  ];
  header.push('test loss', 'residual vs law', 'weighted R@5', 'macro R@5', 'seconds');
  const rows = [...r.cells]
    .sort((a, b) => a.nonEmbeddingParameters - b.nonEmbeddingParameters || a.fraction - b.fraction || a.seed - b.seed)
    .map((c) => [
      c.size,
      thousands(c.nonEmbeddingParameters),
      thousands(c.parameters),
      String(c.fraction),
      thousands(c.trainTargets),
      String(c.seed),
      thousands(c.targetsSeen),
      `${c.bestEpoch}/${c.epochsRun}`,
      f4(c.testLoss),
      f4(c.testLoss - predict2D(r.law, c.nonEmbeddingParameters, c.trainTargets)),
      pct(c['weighted_recall@5']),
      pct(c['macro_recall@5']),
      String(c.seconds),
    ]);
  return markdownTable(header, rows);
}
