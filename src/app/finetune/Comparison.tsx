import type { MetricSet } from '../../core/metrics';
import type { BaselineFigures, ScratchOutcome } from '../../lib/index';
import { formatCount, formatPercent } from '../lib/format';
import '../components/results-table.css';

export const COMPARED = [
  ['weighted_recall@1', 'Weighted recall@1'],
  ['weighted_recall@5', 'Weighted recall@5'],
  ['macro_recall@1', 'Macro recall@1'],
  ['macro_recall@5', 'Macro recall@5'],
] as const;

type Key = (typeof COMPARED)[number][0];

interface Column {
  id: string;
  label: string;
  title: string;
  metrics: MetricSet | null;
}

/** "beats Markov-2 on 3 of 4 metrics" */
function verdict(mine: MetricSet, other: MetricSet, name: string): string {
  const wins = COMPARED.filter(([k]) => mine[k] > other[k]).length;
  const ties = COMPARED.filter(([k]) => mine[k] === other[k]).length;
  const tied = ties ? ` (${ties} tied)` : '';
  if (wins === COMPARED.length) return `beats ${name} on all ${COMPARED.length} metrics`;
  if (wins === 0) return `does not beat ${name} on any metric${tied}`;
  return `beats ${name} on ${wins} of ${COMPARED.length} metrics${tied}`;
}

/**
 * The held-out comparison: the adapted model, the model it started from, a second-order Markov
 * chain and popularity fitted on the same training part, and (when asked for) the same
 * architecture trained from scratch. The best figure of each row is marked.
 */
export function Comparison(props: {
  before: MetricSet | null;
  after: MetricSet | null;
  baselines: BaselineFigures | null;
  scratch: ScratchOutcome | null;
  scratchPending: boolean;
  baseName: string;
}) {
  const { before, after, baselines, scratch, scratchPending, baseName } = props;
  const columns: Column[] = [
    { id: 'after', label: 'Adapted', title: 'This run’s model, as stored (int8)', metrics: after },
    { id: 'before', label: 'Base', title: `${baseName}, before fine-tuning`, metrics: before },
    {
      id: 'markov',
      label: 'Markov-2',
      title: 'Second-order Markov chain fitted on the training part',
      metrics: baselines?.['markov-2'] ?? null,
    },
    {
      id: 'popularity',
      label: 'Popularity',
      title: 'Most frequent behaviors of the training part',
      metrics: baselines?.popularity ?? null,
    },
    ...(scratch || scratchPending
      ? [
          {
            id: 'scratch',
            label: 'From scratch',
            title: 'The same architecture trained on the training part only, with its own learning rate and budget',
            metrics: scratch?.metrics ?? null,
          },
        ]
      : []),
  ];
  const targets = before?.targets ?? after?.targets ?? baselines?.['markov-2'].targets ?? 0;
  const cell = (m: MetricSet | null, key: Key) => (m && m[key] !== undefined ? formatPercent(m[key]) : '–');
  const best = (key: Key) => Math.max(...columns.map((c) => c.metrics?.[key] ?? -1));
  return (
    <div className="ft-comparison">
      <table className="eval-table ft-results" data-testid="finetune-results">
        <caption>
          Held-out part of your data ({formatCount(targets)} predicted events): every model ranks every behavior it
          knows; the best figure of each row is bold
        </caption>
        <thead>
          <tr>
            <th scope="col">Metric</th>
            {columns.map((c) => (
              <th key={c.id} scope="col" className="num" title={c.title}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {COMPARED.map(([key, label]) => (
            <tr key={key}>
              <th scope="row">{label}</th>
              {columns.map((c) => {
                const v = c.metrics?.[key];
                const top = v !== undefined && v === best(key);
                return (
                  <td
                    key={c.id}
                    className={`num${top ? ' best' : ''}`}
                    data-testid={`${c.id}-${key}`}
                    data-value={v ?? ''}
                  >
                    {top ? <strong>{cell(c.metrics, key)}</strong> : cell(c.metrics, key)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {after && baselines && (
        <p className="small" data-testid="finetune-verdict">
          The adapted model {verdict(after, baselines['markov-2'], 'Markov-2')}
          {before && <>, {verdict(after, before, 'the base model')}</>}
          {scratch && (
            <>
              , and {verdict(after, scratch.metrics, 'the same architecture trained from scratch')} (macro recall@5{' '}
              {formatPercent(after['macro_recall@5'])} vs {formatPercent(scratch.metrics['macro_recall@5'])}:
              pretraining {after['macro_recall@5'] > scratch.metrics['macro_recall@5'] ? 'helped' : 'did not help'} on
              rare behaviors)
            </>
          )}
          .
        </p>
      )}
    </div>
  );
}
