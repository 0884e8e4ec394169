/**
 * Vega-Lite specs of the scaling-law report: test loss against non-embedding parameters N and
 * against training targets D, log-log, one point per grid cell, the fitted L(N, D) as a line at
 * each D (resp. each N), the 1-D fit dashed, and the shipped model as a labelled diamond. Pure
 * (no DOM, no vega runtime): the app renders these with vega-embed, `npm run scaling` renders
 * the same specs to PNG (src/node/scaling-plots.ts).
 *
 * Data travels as named datasets ("cells", "curves", "shipped"), so a caller can replace one
 * with view.change without rebuilding the chart.
 */
import type { TopLevelSpec } from 'vega-lite';
import { predict1D, predict2D } from '../core/scaling';
import type { ScalingReport } from '../core/scaling-report';

/** Points per fitted curve, log-spaced. */
export const CURVE_SAMPLES = 40;

export interface ChartSize {
  /** Plot width in px, or 'container' to follow the parent element's width. */
  width?: number | 'container';
  height?: number;
}

/** One grid cell, with the fields the tooltip shows. */
export interface CellRow {
  size: string;
  N: number;
  D: number;
  fraction: number;
  seed: number;
  loss: number;
  /** L(N, D) of the fitted law at this cell. */
  predicted: number;
  weightedRecall5: number;
  macroRecall5: number;
  /** "best/run". */
  epochs: string;
  seconds: number;
}

/** One sample of a fitted curve: `curve` names the line, `fit` says which law. */
export interface CurveRow {
  curve: string;
  fit: string;
  N: number;
  D: number;
  loss: number;
  fraction?: number;
  size?: string;
}

export interface ShippedRow {
  name: string;
  N: number;
  D: number;
  loss: number;
  predicted: number;
  label: string;
}

export type ScalingSpec = TopLevelSpec & { datasets: { cells: CellRow[]; curves: CurveRow[]; shipped: ShippedRow[] } };

export const FIT_2D = 'L(N, D), all cells';
export const FIT_N = 'L(N), 1-D at full data';
export const FIT_D = 'L(D), 1-D at largest N';

/** `count` values from lo to hi (inclusive), evenly spaced in log. */
export function logSpace(lo: number, hi: number, count = CURVE_SAMPLES): number[] {
  const a = Math.log(lo);
  const b = Math.log(hi);
  return Array.from({ length: count }, (_, i) => Math.exp(a + ((b - a) * i) / (count - 1)));
}

export function cellRows(report: ScalingReport): CellRow[] {
  return report.cells.map((c) => ({
    size: c.size,
    N: c.nonEmbeddingParameters,
    D: c.trainTargets,
    fraction: c.fraction,
    seed: c.seed,
    loss: c.testLoss,
    predicted: predict2D(report.law, c.nonEmbeddingParameters, c.trainTargets),
    weightedRecall5: c['weighted_recall@5'],
    macroRecall5: c['macro_recall@5'],
    epochs: `${c.bestEpoch}/${c.epochsRun}`,
    seconds: c.seconds,
  }));
}

function shippedRows(report: ScalingReport): ShippedRow[] {
  const s = report.shipped;
  if (!s) return [];
  return [
    {
      name: s.name,
      N: s.nonEmbeddingParameters,
      D: s.trainTargets,
      loss: s.testLoss,
      predicted: predict2D(report.law, s.nonEmbeddingParameters, s.trainTargets),
      label: `shipped: ${s.name}`,
    },
  ];
}

/** The range of `values` widened by a quarter on each side (log scale), for the curves. */
function span(values: number[]): [number, number] {
  return [Math.min(...values) / 1.25, Math.max(...values) * 1.25];
}

const distinct = <T>(xs: T[]): T[] => [...new Set(xs)];

/** Size names ordered by N. */
function sizesByN(report: ScalingReport): string[] {
  return distinct(
    [...report.cells].sort((a, b) => a.nonEmbeddingParameters - b.nonEmbeddingParameters).map((c) => c.size),
  );
}

const num = (field: string, title: string, format: string) => ({ field, title, type: 'quantitative' as const, format });

const CELL_TOOLTIP = [
  { field: 'size', title: 'size', type: 'nominal' as const },
  num('N', 'N (non-embedding parameters)', ','),
  num('D', 'D (train targets)', ','),
  num('fraction', 'train fraction', '~g'),
  { field: 'seed', title: 'seed', type: 'nominal' as const },
  num('loss', 'test loss', '.4f'),
  num('predicted', 'fitted L(N, D)', '.4f'),
  num('weightedRecall5', 'weighted recall@5', '.2%'),
  num('macroRecall5', 'macro recall@5', '.2%'),
  { field: 'epochs', title: 'epochs (best/run)', type: 'nominal' as const },
  num('seconds', 'seconds', ',.0f'),
];

const SHIPPED_TOOLTIP = [
  { field: 'name', title: 'shipped model', type: 'nominal' as const },
  num('N', 'N (non-embedding parameters)', ','),
  num('D', 'D (train targets)', ','),
  num('loss', 'test loss', '.4f'),
  num('predicted', 'fitted L(N, D) (cross-entropy)', '.4f'),
];

const SHIPPED_COLOR = '#b3261e';

interface Axes {
  x: 'N' | 'D';
  xTitle: string;
  /** Color field and its legend: train fraction (vs N) or size (vs D). */
  color: { field: 'fraction' | 'size'; title: string; domain: (number | string)[]; scheme: string };
  title: { text: string; subtitle: string };
}

function layered(report: ScalingReport, axes: Axes, curves: CurveRow[], size: ChartSize): ScalingSpec {
  const cells = cellRows(report);
  const shipped = shippedRows(report);
  const losses = [...cells.map((c) => c.loss), ...shipped.map((s) => s.loss)];
  const x = {
    field: axes.x,
    type: 'quantitative' as const,
    title: axes.xTitle,
    scale: { type: 'log' as const, nice: false },
    axis: { format: '~s', grid: true },
  };
  const y = {
    field: 'loss',
    type: 'quantitative' as const,
    title: 'test loss (nats per target, log scale)',
    scale: { type: 'log' as const, nice: false, domain: [Math.min(...losses) * 0.97, Math.max(...losses) * 1.03] },
    axis: { format: '.2f', tickCount: 6 },
  };
  const color = {
    field: axes.color.field,
    type: 'ordinal' as const,
    title: axes.color.title,
    scale: { domain: axes.color.domain, scheme: { name: axes.color.scheme, extent: [0, 0.85] } },
  };
  const layers: object[] = [
    {
      data: { name: 'curves' },
      mark: { type: 'line', strokeWidth: 1.6, clip: true },
      encoding: {
        x,
        y,
        color,
        detail: { field: 'curve', type: 'nominal' },
        strokeDash: {
          field: 'fit',
          type: 'nominal',
          title: 'fit',
          scale: {
            domain: [FIT_2D, axes.x === 'N' ? FIT_N : FIT_D],
            range: [
              [1, 0],
              [5, 3],
            ],
          },
        },
        tooltip: [
          { field: 'fit', type: 'nominal' },
          num(axes.x, axes.x, ','),
          num(axes.x === 'N' ? 'D' : 'N', axes.x === 'N' ? 'at D' : 'at N', ','),
          num('loss', 'loss', '.4f'),
        ],
      },
    },
    {
      data: { name: 'cells' },
      mark: { type: 'point', filled: true, size: 70, opacity: 0.9, stroke: '#1d2330', strokeWidth: 0.5 },
      encoding: { x, y, color, shape: { field: 'seed', type: 'nominal', title: 'seed' }, tooltip: CELL_TOOLTIP },
    },
  ];
  if (shipped.length) {
    layers.push(
      {
        data: { name: 'shipped' },
        mark: {
          type: 'point',
          shape: 'diamond',
          filled: true,
          size: 220,
          color: SHIPPED_COLOR,
          stroke: 'white',
          strokeWidth: 1,
        },
        encoding: { x, y, tooltip: SHIPPED_TOOLTIP },
      },
      {
        data: { name: 'shipped' },
        mark: { type: 'text', align: 'right', dx: -10, dy: -10, fontWeight: 'bold', color: SHIPPED_COLOR },
        encoding: { x, y, text: { field: 'label' }, tooltip: SHIPPED_TOOLTIP },
      },
    );
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { ...axes.title, anchor: 'start', subtitleColor: '#5d6677' },
    width: size.width ?? 640,
    height: size.height ?? 400,
    ...(size.width === 'container' ? { autosize: { type: 'fit-x', contains: 'padding' } } : {}),
    background: 'white',
    datasets: { cells, curves, shipped },
    layer: layers,
    resolve: { scale: { color: 'shared', shape: 'shared' } },
    config: {
      legend: { orient: 'right', labelLimit: 240 },
      axis: { gridColor: '#eceff4', labelColor: '#1d2330', titleColor: '#1d2330' },
    },
  } as unknown as ScalingSpec;
}

/** Test loss vs non-embedding parameters N, colored by train fraction; lines: L(N, D) at each fraction's D, and L(N). */
export function lossVsParamsSpec(report: ScalingReport, size: ChartSize = {}): ScalingSpec {
  const xs = logSpace(
    ...span([
      ...report.cells.map((c) => c.nonEmbeddingParameters),
      ...(report.shipped ? [report.shipped.nonEmbeddingParameters] : []),
    ]),
  );
  const byD = distinct(report.cells.map((c) => c.trainTargets)).sort((a, b) => a - b);
  const fractionOf = (d: number) => report.cells.find((c) => c.trainTargets === d)!.fraction;
  const fullD = byD[byD.length - 1];
  const curves: CurveRow[] = [
    ...byD.flatMap((D) =>
      xs.map((N) => ({
        curve: `D=${D}`,
        fit: FIT_2D,
        fraction: fractionOf(D),
        N,
        D,
        loss: predict2D(report.law, N, D),
      })),
    ),
    ...xs.map((N) => ({
      curve: 'L(N)',
      fit: FIT_N,
      fraction: fractionOf(fullD),
      N,
      D: fullD,
      loss: predict1D(report.lawN, N),
    })),
  ];
  const fractions = distinct(report.cells.map((c) => c.fraction)).sort((a, b) => a - b);
  return layered(
    report,
    {
      x: 'N',
      xTitle: 'N: non-embedding parameters (log scale)',
      color: { field: 'fraction', title: 'train fraction', domain: fractions, scheme: 'viridis' },
      title: {
        text: 'Test loss vs model size',
        subtitle: 'points: grid cells; lines: the fitted law at each train fraction',
      },
    },
    curves,
    size,
  );
}

/** Test loss vs training targets D, colored by model size; lines: L(N, D) at each size's N, and L(D). */
export function lossVsDataSpec(report: ScalingReport, size: ChartSize = {}): ScalingSpec {
  const xs = logSpace(
    ...span([...report.cells.map((c) => c.trainTargets), ...(report.shipped ? [report.shipped.trainTargets] : [])]),
  );
  const sizes = sizesByN(report);
  const nOf = (s: string) => report.cells.find((c) => c.size === s)!.nonEmbeddingParameters;
  const largest = sizes[sizes.length - 1];
  const curves: CurveRow[] = [
    ...sizes.flatMap((s) =>
      xs.map((D) => ({
        curve: `N=${nOf(s)}`,
        fit: FIT_2D,
        size: s,
        N: nOf(s),
        D,
        loss: predict2D(report.law, nOf(s), D),
      })),
    ),
    ...xs.map((D) => ({
      curve: 'L(D)',
      fit: FIT_D,
      size: largest,
      N: nOf(largest),
      D,
      loss: predict1D(report.lawD, D),
    })),
  ];
  return layered(
    report,
    {
      x: 'D',
      xTitle: 'D: training targets (events, log scale)',
      color: { field: 'size', title: 'model size', domain: sizes, scheme: 'plasma' },
      title: {
        text: 'Test loss vs training data',
        subtitle: 'points: grid cells; lines: the fitted law at each model size',
      },
    },
    curves,
    size,
  );
}
