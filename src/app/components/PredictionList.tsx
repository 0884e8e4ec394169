import type { PredictionResult } from '../use-predictions';
import { formatPercent } from '../lib/format';
import './PredictionList.css';

interface Props {
  result: PredictionResult;
  /** Rows shown. */
  k: number;
  /** The behavior that actually happened (Replay), highlighted when listed. */
  actual?: string;
  /** Why there are no predictions yet (model loading…). */
  placeholder?: string;
  /** The behavior being explained (Why / When), and how to pick another: its name becomes a button. */
  explained?: string | null;
  onExplain?: (behavior: string) => void;
}

/** Top-k predictions with probability bars. */
export function PredictionList({ result, k, actual, placeholder, explained, onExplain }: Props) {
  const rows = result.predictions.slice(0, k);
  return (
    <section className="predictions" aria-labelledby="predictions-title">
      <h3 id="predictions-title">
        Top {k} predictions
        {result.status === 'loading' && <span className="spinner" role="status" aria-label="updating" />}
        {result.status === 'ready' && result.ms !== null && (
          <span className="muted small"> · {result.ms.toFixed(1)} ms</span>
        )}
      </h3>
      {result.error && (
        <p className="error" role="alert">
          Prediction failed: {result.error}
        </p>
      )}
      {rows.length === 0 && !result.error && <p className="muted">{placeholder ?? 'Computing…'}</p>}
      <ol
        className={`prediction-list${result.status === 'loading' ? ' stale' : ''}`}
        data-testid="predictions"
        data-status={result.status}
        data-key={result.key ?? ''}
        aria-busy={result.status === 'loading'}
      >
        {rows.map((p, i) => {
          const hit = actual !== undefined && p.behavior === actual;
          return (
            <li
              key={p.behavior}
              className={`prediction-row${hit ? ' hit' : ''}${onExplain && p.behavior === explained ? ' explained' : ''}`}
              data-testid="prediction-row"
              data-behavior={p.behavior}
              data-probability={p.probability}
            >
              <span className="rank">{i + 1}</span>
              <span className="behavior" title={p.behavior}>
                {onExplain ? (
                  <button
                    type="button"
                    className="name pick"
                    aria-pressed={p.behavior === explained}
                    title={`Explain ${p.behavior}`}
                    onClick={() => onExplain(p.behavior)}
                    data-testid="explain-pick"
                  >
                    {p.behavior}
                  </button>
                ) : (
                  <span className="name">{p.behavior}</span>
                )}
                {hit && <span className="badge">actual</span>}
              </span>
              <span className="bar" aria-hidden="true">
                <span className="fill" style={{ width: `${Math.max(0.5, 100 * p.probability)}%` }} />
              </span>
              <span className="prob">{formatPercent(p.probability)}</span>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
