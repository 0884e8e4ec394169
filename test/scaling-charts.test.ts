import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from 'vega-lite';
import {
  CURVE_SAMPLES,
  FIT_2D,
  FIT_D,
  FIT_N,
  logSpace,
  lossVsDataSpec,
  lossVsParamsSpec,
  type ScalingSpec,
} from '../src/charts/scaling-charts';
import { predict1D, predict2D } from '../src/core/scaling';
import { formatInterval, lawFormula, scalingFromModules, shippedPosition } from '../src/app/lib/scaling-view';
import { writeScalingPlots } from '../src/node/scaling-plots';
import { syntheticScalingReport } from './fixtures/scaling-report';

const REPORT = syntheticScalingReport();
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

type Layer = {
  data: { name: string };
  mark: { type: string; shape?: string };
  encoding: Record<string, { field?: string; scale?: { type?: string } }>;
};
const layers = (spec: ScalingSpec) => (spec as unknown as { layer: Layer[] }).layer;
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));

describe('scaling chart specs', () => {
  it('logSpace spans the range evenly in log', () => {
    const xs = logSpace(10, 1000, 3);
    expect(xs[0]).toBeCloseTo(10, 9);
    expect(xs[1]).toBeCloseTo(100, 9);
    expect(xs[2]).toBeCloseTo(1000, 9);
  });

  for (const [name, build, x, fit1D] of [
    ['loss vs parameters', lossVsParamsSpec, 'N', FIT_N],
    ['loss vs data', lossVsDataSpec, 'D', FIT_D],
  ] as const) {
    describe(name, () => {
      const spec = build(REPORT);

      it('has one point row per cell, with the cell numbers', () => {
        const { cells } = spec.datasets;
        expect(cells).toHaveLength(REPORT.cells.length);
        cells.forEach((row, i) => {
          const c = REPORT.cells[i];
          expect(row).toMatchObject({
            size: c.size,
            N: c.nonEmbeddingParameters,
            D: c.trainTargets,
            fraction: c.fraction,
            seed: c.seed,
            loss: c.testLoss,
            seconds: c.seconds,
          });
          expect(row.weightedRecall5).toBe(c['weighted_recall@5']);
          expect(row.macroRecall5).toBe(c['macro_recall@5']);
          expect(row.predicted).toBe(predict2D(REPORT.law, c.nonEmbeddingParameters, c.trainTargets));
        });
      });

      it('samples the 2-D law on each line and the 1-D law, at log-spaced points', () => {
        const { curves } = spec.datasets;
        const law2 = curves.filter((r) => r.fit === FIT_2D);
        const law1 = curves.filter((r) => r.fit === fit1D);
        const lines = new Set(law2.map((r) => r.curve));
        const other =
          x === 'N'
            ? new Set(REPORT.cells.map((c) => c.trainTargets))
            : new Set(REPORT.cells.map((c) => c.nonEmbeddingParameters));
        expect(lines.size).toBe(other.size);
        expect(law2).toHaveLength(other.size * CURVE_SAMPLES);
        expect(law1).toHaveLength(CURVE_SAMPLES);
        for (const r of law2) expect(close(r.loss, predict2D(REPORT.law, r.N, r.D))).toBe(true);
        for (const r of law1) expect(close(r.loss, predict1D(x === 'N' ? REPORT.lawN : REPORT.lawD, r[x]))).toBe(true);
        // Log-spaced, covering every cell.
        const xs = law1.map((r) => r[x]);
        const ratios = xs.slice(1).map((v, i) => v / xs[i]);
        for (const q of ratios) expect(q).toBeCloseTo(ratios[0], 9);
        const cellXs = spec.datasets.cells.map((c) => c[x]);
        expect(xs[0]).toBeLessThan(Math.min(...cellXs));
        expect(xs[xs.length - 1]).toBeGreaterThan(Math.max(...cellXs));
      });

      it('uses log scales on both axes, with tooltips on the points', () => {
        for (const layer of layers(spec)) {
          expect(layer.encoding.x.field).toBe(x);
          expect(layer.encoding.x.scale?.type).toBe('log');
          expect(layer.encoding.y.field).toBe('loss');
          expect(layer.encoding.y.scale?.type).toBe('log');
        }
        const points = layers(spec).find((l) => l.data.name === 'cells')!;
        const tooltip = points.encoding.tooltip as unknown as { field: string }[];
        expect(tooltip.map((t) => t.field)).toEqual([
          'size',
          'N',
          'D',
          'fraction',
          'seed',
          'loss',
          'predicted',
          'weightedRecall5',
          'macroRecall5',
          'epochs',
          'seconds',
        ]);
        const compiled = compile(spec).spec as { scales: { name: string; type: string }[]; data: { name: string }[] };
        expect(compiled.scales.find((s) => s.name === 'x')?.type).toBe('log');
        expect(compiled.scales.find((s) => s.name === 'y')?.type).toBe('log');
        for (const name of ['cells', 'curves', 'shipped']) expect(compiled.data.map((d) => d.name)).toContain(name);
      });

      it('marks the shipped model, labelled, and leaves it out when the report has none', () => {
        const s = REPORT.shipped!;
        expect(spec.datasets.shipped).toEqual([
          {
            name: s.name,
            N: s.nonEmbeddingParameters,
            D: s.trainTargets,
            loss: s.testLoss,
            predicted: predict2D(REPORT.law, s.nonEmbeddingParameters, s.trainTargets),
            label: `shipped: ${s.name}`,
          },
        ]);
        const marks = layers(spec).filter((l) => l.data.name === 'shipped');
        expect(marks.map((l) => l.mark.type)).toEqual(['point', 'text']);
        expect(marks[0].mark.shape).toBe('diamond');
        const without = build(syntheticScalingReport({ shipped: false }));
        expect(without.datasets.shipped).toEqual([]);
        expect(layers(without).some((l) => l.data.name === 'shipped')).toBe(false);
      });
    });
  }

  it('follows the container width when asked', () => {
    const spec = lossVsParamsSpec(REPORT, { width: 'container', height: 300 }) as unknown as {
      width: unknown;
      height: number;
      autosize: unknown;
    };
    expect(spec.width).toBe('container');
    expect(spec.height).toBe(300);
    expect(spec.autosize).toMatchObject({ type: 'fit-x' });
  });
});

describe('Scaling view helpers', () => {
  it('reads a bundled report, reports a missing or broken one', () => {
    expect(scalingFromModules({})).toEqual({ status: 'missing' });
    const ok = scalingFromModules({ '../../../docs/scaling.json': REPORT });
    expect(ok.status).toBe('ok');
    const bad = scalingFromModules({ '../../../docs/scaling.json': { cells: 'x' } });
    expect(bad).toMatchObject({ status: 'invalid', error: expect.stringContaining('cells') });
  });

  it('formats the law, intervals and where the shipped model sits', () => {
    expect(lawFormula(REPORT.law)).toBe('L(N, D) = 1.800 + 40.0 / N^0.450 + 300 / D^0.420');
    expect(formatInterval(REPORT.law.intervals.alpha)).toBe('0.450 [0.410, 0.490]');
    const s = shippedPosition(REPORT)!;
    expect(s.predicted).toBe(
      predict2D(REPORT.law, REPORT.shipped!.nonEmbeddingParameters, REPORT.shipped!.trainTargets),
    );
    expect(s.difference).toBeCloseTo(REPORT.shipped!.testLoss - s.predicted, 12);
    expect(shippedPosition(syntheticScalingReport({ shipped: false }))).toBeNull();
  });
});

describe('writeScalingPlots', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scaling-plots-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the two PNGs from the specs and returns their paths', async () => {
    const paths = await writeScalingPlots(REPORT, dir);
    expect(paths).toEqual([`${dir}/scaling-params.png`, `${dir}/scaling-data.png`]);
    for (const path of paths) {
      const png = readFileSync(path);
      expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
      expect(statSync(path).size).toBeGreaterThan(1024);
      // IHDR: width and height, big-endian, at bytes 16..24.
      expect(png.readUInt32BE(16)).toBe(900);
      expect(png.readUInt32BE(20)).toBeGreaterThan(200);
    }
  }, 60_000);
});
