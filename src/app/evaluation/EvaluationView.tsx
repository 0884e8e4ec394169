import { useShallow } from 'zustand/react/shallow';
import { useModelStore } from '../stores/model-store';
import { useEvalStore } from '../stores/eval-store';
import { formatPercent } from '../lib/format';
import {
  TABLE_COLUMNS,
  TARGET_SETS,
  bestPerColumn,
  datasetLabel,
  datasetsIn,
  formatMetric,
  formatSeeds,
  headTailBars,
  isBest,
  isShippedRow,
  resolveSelection,
  resultsFromModules,
  selectRows,
  shippedObjective,
  targetSetsIn,
  type TargetSet,
} from '../lib/results-view';
import { EmptyReport } from '../components/EmptyReport';
import { ScoreLog } from '../score/ScoreLog';
import '../components/results-table.css';
import './evaluation.css';

/**
 * docs/results.json, bundled at build time when it exists (written by `npm run experiments`);
 * a glob so that a checkout without it still builds.
 */
const RESULTS = resultsFromModules(import.meta.glob('../../../docs/results.json', { eager: true, import: 'default' }));

export function EvaluationView() {
  const training = useModelStore((s) => s.summary?.training);
  const { dataset, targets, setDataset, setTargets } = useEvalStore(
    useShallow((s) => ({ dataset: s.dataset, targets: s.targets, setDataset: s.setDataset, setTargets: s.setTargets })),
  );

  if (RESULTS.status === 'missing') {
    return (
      <EmptyReport testId="eval-empty">
        No evaluation results yet — run <code>npm run experiments</code>.
      </EmptyReport>
    );
  }
  if (RESULTS.status === 'invalid') {
    return (
      <EmptyReport testId="eval-empty">
        The evaluation results could not be read ({RESULTS.error}). Regenerate them with{' '}
        <code>npm run experiments</code>.
      </EmptyReport>
    );
  }
  const all = RESULTS.rows;
  const selection = resolveSelection(all, dataset, targets);
  if (!selection) {
    return (
      <EmptyReport testId="eval-empty">
        No next-behavior results in <code>docs/results.json</code> yet — run <code>npm run experiments</code>.
      </EmptyReport>
    );
  }

  const rows = selectRows(all, selection.dataset, selection.targets);
  const best = bestPerColumn(rows);
  const objective = shippedObjective(training);
  const bars = headTailBars(rows);
  const sets = targetSetsIn(all, selection.dataset);

  return (
    <div className="evaluation">
      <div className="controls">
        <div className="field">
          <label htmlFor="eval-dataset">Dataset</label>
          <select
            id="eval-dataset"
            value={selection.dataset}
            onChange={(e) => setDataset(e.target.value)}
            data-testid="eval-dataset"
          >
            {datasetsIn(all).map((d) => (
              <option key={d} value={d}>
                {datasetLabel(d)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="eval-targets">Targets</label>
          <select
            id="eval-targets"
            value={selection.targets}
            onChange={(e) => setTargets(e.target.value as TargetSet)}
            data-testid="eval-targets"
          >
            {TARGET_SETS.filter((t) => sets.includes(t.id)).map((t) => (
              <option key={t.id} value={t.id}>
                {t.label}
              </option>
            ))}
          </select>
        </div>
      </div>

      <div className="table-scroll">
        <table
          className="eval-table"
          data-testid="eval-table"
          data-dataset={selection.dataset}
          data-targets={selection.targets}
        >
          <caption>
            Next-behavior prediction, {datasetLabel(selection.dataset)} test split
            {selection.targets === 'no-refresh' ? ', without automatic refresh targets' : ', all targets'}
          </caption>
          <thead>
            <tr>
              <th rowSpan={2} scope="col">
                Model
              </th>
              <th rowSpan={2} scope="col" className="num">
                Seeds
              </th>
              <th colSpan={2} scope="colgroup" className="group">
                Weighted recall
              </th>
              <th colSpan={2} scope="colgroup" className="group">
                Macro recall
              </th>
              <th rowSpan={2} scope="col" className="num">
                NDCG@10
              </th>
              <th rowSpan={2} scope="col" className="num">
                MRR
              </th>
            </tr>
            <tr>
              {TABLE_COLUMNS.filter((c) => c.group).map((c) => (
                <th key={c.key} scope="col" className="num">
                  {c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => {
              const shipped = isShippedRow(row, objective);
              return (
                <tr
                  key={`${row.model}-${i}`}
                  className={shipped ? 'shipped' : undefined}
                  data-testid="eval-row"
                  data-model={row.model}
                  data-shipped={String(shipped)}
                >
                  <th scope="row">
                    {row.model}
                    {shipped && <span className="badge">shipped</span>}
                  </th>
                  <td className="num">{formatSeeds(row)}</td>
                  {TABLE_COLUMNS.map((c) => {
                    const top = isBest(row, c.key, best);
                    return (
                      <td
                        key={c.key}
                        className={`num${top ? ' best' : ''}`}
                        data-metric={c.key}
                        data-value={row.metrics[c.key] ?? ''}
                        data-best={String(top)}
                        title={top ? 'Best in this column' : undefined}
                      >
                        {formatMetric(row, c.key)}
                      </td>
                    );
                  })}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p className="muted small">
        Test split; ± is the standard deviation over seeds (baselines are deterministic). Bold: the best value in each
        column; highlighted row: the model this app ships. Protocol: <code>docs/RESULTS.md</code>.
      </p>

      <section className="headtail" data-testid="eval-headtail" aria-labelledby="headtail-title">
        <h3 id="headtail-title">Head vs tail recall@5</h3>
        <p className="muted small">
          Head: the most frequent behaviors that together cover 80% of training events; tail: all the others, including
          behaviors never seen in training.
        </p>
        {bars.length === 0 ? (
          <p className="muted">No head/tail recall in these results.</p>
        ) : (
          <>
            <p className="ht-legend small" aria-hidden="true">
              <span className="swatch head" /> head <span className="swatch tail" /> tail
            </p>
            <ul className="ht-list">
              {bars.map((b, i) => (
                <li key={`${b.model}-${i}`} className="ht-row" data-testid="eval-headtail-row" data-model={b.model}>
                  <span className="ht-model" title={b.model}>
                    {b.model}
                  </span>
                  <span className="ht-bars">
                    {(['head', 'tail'] as const).map((kind) => (
                      <span
                        key={kind}
                        className={`ht-line ${kind}`}
                        data-testid="eval-bar"
                        data-kind={kind}
                        data-value={b[kind]}
                      >
                        <span className="bar" aria-hidden="true">
                          <span className="fill" style={{ width: `${Math.max(0.5, 100 * b[kind])}%` }} />
                        </span>
                        <span className="ht-value">
                          <span className="visually-hidden">{kind} </span>
                          {formatPercent(b[kind])}
                        </span>
                      </span>
                    ))}
                  </span>
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
      <ScoreLog where="evaluation" />
    </div>
  );
}
