import type { MetricSet } from '../../core/metrics';
import { formatCount, formatPercent } from '../lib/format';
import '../components/results-table.css';

const COMPARED = [
  ['weighted_recall@1', 'Weighted recall@1'],
  ['weighted_recall@5', 'Weighted recall@5'],
  ['macro_recall@1', 'Macro recall@1'],
  ['macro_recall@5', 'Macro recall@5'],
] as const;

/** Held-out figures of the base and the adapted model, side by side. */
export function BeforeAfter({ before, after }: { before: MetricSet | null; after: MetricSet | null }) {
  const cell = (m: MetricSet | null, key: string) => (m && m[key] !== undefined ? formatPercent(m[key]) : '–');
  return (
    <table className="eval-table ft-results" data-testid="finetune-results">
      <caption>
        Held-out sequences of your data ({formatCount(before?.targets ?? after?.targets ?? 0)} predicted events)
      </caption>
      <thead>
        <tr>
          <th scope="col">Metric</th>
          <th scope="col" className="num">
            Base model
          </th>
          <th scope="col" className="num">
            Adapted
          </th>
          <th scope="col" className="num">
            Change
          </th>
        </tr>
      </thead>
      <tbody>
        {COMPARED.map(([key, label]) => {
          const delta = before && after && before[key] !== undefined && after[key] !== undefined ? after[key] - before[key] : null;
          return (
            <tr key={key}>
              <th scope="row">{label}</th>
              <td className="num" data-testid={`before-${key}`}>
                {cell(before, key)}
              </td>
              <td className="num" data-testid={`after-${key}`}>
                {cell(after, key)}
              </td>
              <td className="num">{delta === null ? '' : `${delta >= 0 ? '+' : '−'}${formatPercent(Math.abs(delta))}`}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
