import { useMemo } from 'react';
import { lossVsDataSpec, lossVsParamsSpec } from '../../charts/scaling-charts';
import type { ScalingReport } from '../../core/scaling-report';
import { formatCount } from '../lib/format';
import { formatInterval, lawFormula, scalingFromModules, shippedPosition } from '../lib/scaling-view';
import { EmptyReport } from '../components/EmptyReport';
import { VegaChart } from '../components/VegaChart';
import './scaling.css';

/**
 * docs/scaling.json, bundled at build time when it exists (written by `npm run scaling`); a
 * glob so that a checkout without it still builds.
 */
const SCALING = scalingFromModules(import.meta.glob('../../../docs/scaling.json', { eager: true, import: 'default' }));

const CHART_SIZE = { width: 'container', height: 320 } as const;

export function ScalingView() {
  if (SCALING.status === 'missing') {
    return (
      <EmptyReport testId="scaling-empty">
        No scaling-law report yet — run <code>npm run scaling</code> (the grid, then{' '}
        <code>npm run scaling -- --phase report</code>).
      </EmptyReport>
    );
  }
  if (SCALING.status === 'invalid') {
    return (
      <EmptyReport testId="scaling-empty">
        The scaling-law report could not be read ({SCALING.error}). Regenerate it with{' '}
        <code>npm run scaling -- --phase report</code>.
      </EmptyReport>
    );
  }
  return <Report report={SCALING.report} />;
}

const f3 = (x: number) => x.toFixed(3);
const f4 = (x: number) => x.toFixed(4);

function describeOffset(difference: number): string {
  if (Math.abs(difference) < 5e-5) return 'on';
  return `${f4(Math.abs(difference))} ${difference > 0 ? 'above' : 'below'}`;
}

function Report({ report }: { report: ScalingReport }) {
  const paramsSpec = useMemo(() => lossVsParamsSpec(report, CHART_SIZE), [report]);
  const dataSpec = useMemo(() => lossVsDataSpec(report, CHART_SIZE), [report]);
  const { law, lawN, lawD, shipped } = report;
  const iv = law.intervals;
  const position = shippedPosition(report);
  const sizes = new Set(report.cells.map((c) => c.size)).size;
  const fractions = new Set(report.cells.map((c) => c.fraction)).size;
  const seeds = new Set(report.cells.map((c) => c.seed)).size;

  return (
    <div className="scaling" data-testid="scaling">
      <div className="scaling-law" data-testid="scaling-law">
        <p className="scaling-formula" data-testid="scaling-formula" role="math" aria-label={lawFormula(law)}>
          L(N, D) = {f3(law.E)} + {law.A.toPrecision(3)} / N<sup>{f3(law.alpha)}</sup> + {law.B.toPrecision(3)} / D
          <sup>{f3(law.beta)}</sup>
        </p>
        <dl className="scaling-fit">
          <div>
            <dt>α (model size)</dt>
            <dd data-testid="scaling-alpha">{formatInterval(iv.alpha)}</dd>
          </div>
          <div>
            <dt>β (data size)</dt>
            <dd data-testid="scaling-beta">{formatInterval(iv.beta)}</dd>
          </div>
          <div>
            <dt>E (irreducible loss)</dt>
            <dd>{formatInterval(iv.E)}</dd>
          </div>
          <div>
            <dt>R² of log L</dt>
            <dd data-testid="scaling-r2">{f4(law.r2)}</dd>
          </div>
        </dl>
        <p className="muted small">
          Estimates with 90% bootstrap intervals over seeds. N = non-embedding parameters, D = training targets
          (events), L = test cross-entropy; {report.cells.length} cells ({sizes} sizes × {fractions} train fractions ×{' '}
          {seeds} seeds), dataset {report.dataset.toUpperCase()}.
        </p>
        <p className="muted small" data-testid="scaling-1d">
          1-D fits: L(N) = {f3(lawN.E)} + {lawN.A.toPrecision(3)} / N<sup>{f3(lawN.alpha)}</sup> at the full train split
          (R² {f4(lawN.r2)}); L(D) = {f3(lawD.E)} + {lawD.A.toPrecision(3)} / D<sup>{f3(lawD.alpha)}</sup> at the
          largest size (R² {f4(lawD.r2)}). Generated {report.date.slice(0, 10)}, commit <code>{report.commit}</code>;
          method and table in <code>docs/SCALING.md</code>.
        </p>
      </div>

      {shipped && position && (
        <p className="scaling-shipped" data-testid="scaling-shipped">
          <span className="badge">shipped</span> <strong>{shipped.name}</strong>: N ={' '}
          {formatCount(shipped.nonEmbeddingParameters)}, D = {formatCount(shipped.trainTargets)}, test loss{' '}
          {f4(shipped.testLoss)}: {describeOffset(position.difference)} the fitted cross-entropy law (
          {f4(position.predicted)} at its N and D). A model trained with an objective other than plain cross-entropy
          need not sit on the curve. It is the red diamond in both charts.
        </p>
      )}

      <div className="scaling-charts">
        <VegaChart
          spec={paramsSpec}
          label="Test loss against non-embedding parameters, log-log"
          testId="scaling-params"
        />
        <VegaChart spec={dataSpec} label="Test loss against training targets, log-log" testId="scaling-data" />
      </div>
      <p className="muted small">
        Hover a point for its cell: size, N, D, fraction, seed, test loss, recall@5, epochs and training time.
      </p>
    </div>
  );
}
