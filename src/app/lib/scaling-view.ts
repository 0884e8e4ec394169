/** The Scaling view's reading of docs/scaling.json and its text. Pure. */
import { predict2D, type Interval, type Law2D } from '../../core/scaling';
import { parseScalingReport, type ScalingReport } from '../../core/scaling-report';
import { parseGlobbed } from './globbed-json';

export type LoadedScaling =
  | { status: 'missing' }
  | { status: 'ok'; report: ScalingReport }
  | { status: 'invalid'; error: string };

/** docs/scaling.json from an `import.meta.glob` result: missing, invalid, or the report. */
export function scalingFromModules(modules: Record<string, unknown>, file = 'docs/scaling.json'): LoadedScaling {
  const loaded = parseGlobbed(modules, (json) => parseScalingReport(json, file));
  return loaded.status === 'ok' ? { status: 'ok', report: loaded.value } : loaded;
}

const f3 = (x: number) => x.toFixed(3);

/** "L(N, D) = E + A / N^α + B / D^β" with the fitted numbers. */
export function lawFormula(law: Law2D): string {
  return `L(N, D) = ${f3(law.E)} + ${law.A.toPrecision(3)} / N^${f3(law.alpha)} + ${law.B.toPrecision(3)} / D^${f3(law.beta)}`;
}

/** "0.420 [0.380, 0.470]": estimate and 90% bootstrap interval. */
export function formatInterval(iv: Interval): string {
  return `${f3(iv.estimate)} [${f3(iv.low)}, ${f3(iv.high)}]`;
}

/** The shipped model's test loss against what the fitted (cross-entropy) law predicts at its N and D. */
export function shippedPosition(report: ScalingReport): { predicted: number; difference: number } | null {
  const s = report.shipped;
  if (!s) return null;
  const predicted = predict2D(report.law, s.nonEmbeddingParameters, s.trainTargets);
  return { predicted, difference: s.testLoss - predicted };
}
