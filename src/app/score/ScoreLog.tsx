import { useShallow } from 'zustand/react/shallow';
import { unpackSequences } from '../../core/packed-log';
import { formatCount, formatPercent } from '../lib/format';
import { useFinetuneStore } from '../stores/finetune-store';
import { useModelStore } from '../stores/model-store';
import { useScoreStore } from '../stores/score-store';
import '../components/results-table.css';
import './score.css';

/** The rows of `npm run evaluate`'s table, in its order. */
const METRICS = [
  ['loss', 'Loss (nats)'],
  ['weighted_recall@1', 'Weighted recall@1'],
  ['weighted_recall@5', 'Weighted recall@5'],
  ['weighted_recall@10', 'Weighted recall@10'],
  ['macro_recall@1', 'Macro recall@1'],
  ['macro_recall@5', 'Macro recall@5'],
  ['macro_recall@10', 'Macro recall@10'],
  ['ndcg@10', 'NDCG@10'],
  ['mrr', 'MRR'],
  ['targets', 'Predicted events'],
] as const;

function cell(key: string, value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (key === 'targets') return formatCount(value);
  if (key === 'loss' || key === 'ndcg@10' || key === 'mrr') return value.toFixed(4);
  return formatPercent(value);
}

/**
 * Score this log: the active model ranks every behavior at every position of the log imported in
 * Fine-tune (the full-ranking protocol and metrics of `npm run evaluate`), on this device.
 */
export function ScoreLog({ where }: { where: 'finetune' | 'evaluation' }) {
  const data = useFinetuneStore((s) => s.data);
  const predictor = useModelStore((s) => s.predictor);
  const modelName = useModelStore((s) => s.summary?.name);
  const { status, logName, done, total, result, error, start, stop } = useScoreStore(
    useShallow((s) => ({
      status: s.status,
      logName: s.logName,
      done: s.done,
      total: s.total,
      result: s.result,
      error: s.error,
      start: s.start,
      stop: s.stop,
    })),
  );
  const running = status === 'running';
  const positions = data ? data.sequences.reduce((n, s) => n + Math.max(0, s.events.length - 1), 0) : 0;

  return (
    <section className="ft-block score-log" aria-labelledby={`score-title-${where}`} data-testid="score-log">
      <h3 id={`score-title-${where}`}>{where === 'finetune' ? 'Score this log' : 'Score a log of your own'}</h3>
      {!data ? (
        <p className="muted small" data-testid="score-no-data">
          Import a log in Fine-tune (step 1) to score every position of it with the active model, as{' '}
          <code>npm run evaluate</code> does.
        </p>
      ) : (
        <>
          <p className="small">
            Ranks every behavior at each of the {formatCount(positions)} positions of <strong>{data.name}</strong> (
            {formatCount(data.sequences.length)} sequences) with {modelName ?? 'the active model'}: the metrics of{' '}
            <code>npm run evaluate</code>, all events and without refresh events. Nothing leaves the browser.
          </p>
          <div className="buttons">
            <button
              type="button"
              disabled={!predictor || running}
              onClick={() => void start(data.name, unpackSequences(data.log, data.sequences))}
              data-testid="score-start"
            >
              Score this log
            </button>
            <button
              type="button"
              className="secondary"
              disabled={!running}
              onClick={() => stop()}
              data-testid="score-stop"
            >
              Stop
            </button>
          </div>
        </>
      )}
      {status !== 'idle' && (
        <p
          className={status === 'error' ? 'error' : 'muted small'}
          role="status"
          data-testid="score-status"
          data-status={status}
        >
          {status === 'running' &&
            `Scoring ${logName}… ${formatCount(done)} of ${total ? formatCount(total) : '…'} positions`}
          {status === 'done' &&
            result &&
            `Scored ${formatCount(result.targets)} positions of ${logName} in ${result.seconds.toFixed(1)} s (${formatCount(Math.round(result.targets / Math.max(result.seconds, 1e-3)))} positions/s) on ${result.engine.label}.`}
          {status === 'stopped' && `${error ?? 'Stopped.'} Nothing was scored.`}
          {status === 'error' && `Could not score the log: ${error}`}
        </p>
      )}
      {running && (
        <progress
          max={total || undefined}
          value={total ? done : undefined}
          aria-label="Scoring progress"
          data-testid="score-progress"
        />
      )}
      {status === 'done' && result && (
        <table className="eval-table" data-testid="score-results">
          <caption>
            {logName}, {formatCount(result.sequences)} sequences, scored by {result.engine.label} (
            {result.engine.reason})
          </caption>
          <thead>
            <tr>
              <th scope="col">Metric</th>
              <th scope="col" className="num">
                All events
              </th>
              <th scope="col" className="num">
                Without refresh events
              </th>
            </tr>
          </thead>
          <tbody>
            {METRICS.map(([key, label]) => (
              <tr key={key}>
                <th scope="row">{label}</th>
                <td className="num" data-testid={`score-all-${key}`} data-value={result.all[key]}>
                  {cell(key, result.all[key])}
                </td>
                <td className="num" data-testid={`score-norefresh-${key}`} data-value={result.noRefresh[key]}>
                  {cell(key, result.noRefresh[key])}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
