import { useShallow } from 'zustand/react/shallow';
import { formatPercent } from '../lib/format';
import { attentionOptions, attentionStart, type EventBar, whyBars } from '../lib/explain-view';
import { useExplainStore } from '../stores/explain-store';
import type { ExplanationResult } from './use-explanation';
import './explain.css';

/** The two buttons that open Why and When (nothing is computed while both are closed). */
export function ExplainToggles({ result }: { result: ExplanationResult }) {
  const { why, when, toggleWhy, toggleWhen } = useExplainStore(
    useShallow((s) => ({ why: s.why, when: s.when, toggleWhy: s.toggleWhy, toggleWhen: s.toggleWhen })),
  );
  return (
    <fieldset className="explain-toggles">
      <legend className="visually-hidden">Explain the prediction</legend>
      <button
        type="button"
        aria-pressed={why}
        onClick={toggleWhy}
        data-testid="toggle-why"
        title="How much each past event moves the prediction"
      >
        Why?
      </button>
      <button
        type="button"
        aria-pressed={when}
        onClick={toggleWhen}
        data-testid="toggle-when"
        title="When the behavior is likely over the week"
      >
        When?
      </button>
      {result.status === 'loading' && <span className="spinner" role="status" aria-label="explaining" />}
      {result.status === 'ready' && result.ms !== null && (
        <span className="muted small">{result.ms.toFixed(1)} ms</span>
      )}
      {result.error && (
        <span className="error" role="alert">
          Explanation failed: {result.error}
        </span>
      )}
    </fieldset>
  );
}

/**
 * Why: how to read the bars beside the events, and the choice between occlusion and attention.
 * The bars themselves are a column of the event list (`useWhyColumn`).
 */
export function WhyControls({
  result,
  behavior,
  historyLength,
}: {
  result: ExplanationResult;
  behavior: string | null;
  historyLength: number;
}) {
  const { method, attention, setMethod, setAttention } = useExplainStore(
    useShallow((s) => ({
      method: s.method,
      attention: s.attention,
      setMethod: s.setMethod,
      setAttention: s.setAttention,
    })),
  );
  const explanation = result.why;
  return (
    <section className="why" aria-labelledby="why-title" data-testid="why-panel" data-status={result.status}>
      <h3 id="why-title">Why {behavior ? <q>{behavior}</q> : 'this prediction'}?</h3>
      <div className="why-methods" role="radiogroup" aria-label="Explanation method">
        <label>
          <input
            type="radio"
            name="why-method"
            checked={method === 'occlusion'}
            onChange={() => setMethod('occlusion')}
            data-testid="why-occlusion"
          />
          Influence
        </label>
        <label>
          <input
            type="radio"
            name="why-method"
            checked={method === 'attention'}
            onChange={() => setMethod('attention')}
            data-testid="why-attention"
          />
          Attention
        </label>
        {method === 'attention' && explanation && (
          <select
            aria-label="Attention head"
            value={attention}
            onChange={(e) => setAttention(e.target.value as typeof attention)}
            data-testid="why-head"
          >
            {attentionOptions(explanation.attention).map((o) => (
              <option key={o.id} value={o.id}>
                {o.label}
              </option>
            ))}
          </select>
        )}
      </div>
      {historyLength === 0 ? (
        <p className="muted small">No events yet: the prediction comes from the time alone.</p>
      ) : method === 'occlusion' ? (
        <p className="muted small">
          Each bar: how many points the probability of this behavior
          {explanation ? ` (${formatPercent(explanation.probability)})` : ''} loses when the event is left out
          (negative: the event makes it less likely). Events act together, so the bars do not add up.
        </p>
      ) : (
        <p className="muted small">
          Where the model looks: the weight the prediction puts on each event
          {explanation ? `, ${formatPercent(attentionStart(explanation.attention, attention))} on the start token` : ''}
          . Attention is not influence: on test data its top event moved the prediction less than a random one
          (docs/EXPLAIN.md).
        </p>
      )}
      {explanation && explanation.offset > 0 && (
        <p className="muted small">
          Events before #{explanation.offset} are outside the model's window of {historyLength - explanation.offset}{' '}
          events and have no influence.
        </p>
      )}
    </section>
  );
}

/** The event list's extra column while Why is open: a bar and its number per event. */
export function useWhyColumn(
  result: ExplanationResult,
  historyLength: number,
): { header: string; cell: (index: number) => React.ReactNode } | undefined {
  const { why, method, attention } = useExplainStore(
    useShallow((s) => ({ why: s.why, method: s.method, attention: s.attention })),
  );
  if (!why || historyLength === 0) return undefined;
  const bars = result.why ? whyBars(result.why, historyLength, method, attention) : null;
  const stale = result.status !== 'ready';
  return {
    header: method === 'occlusion' ? 'Influence' : 'Attention',
    cell: (i) => <WhyCell key="why" bar={bars ? bars[i] : undefined} method={method} stale={stale} />,
  };
}

function WhyCell({ bar, method, stale }: { bar: EventBar | null | undefined; method: string; stale: boolean }) {
  if (bar === undefined) return <td className="why-cell muted">…</td>;
  if (bar === null)
    return (
      <td className="why-cell muted" title="Outside the model's window">
        –
      </td>
    );
  const width = `${Math.abs(bar.fraction) * 50}%`;
  return (
    <td className={`why-cell${stale ? ' stale' : ''}`} data-testid="why-value" data-value={bar.value}>
      <span className={`why-bar ${method}`} aria-hidden="true">
        {method === 'occlusion' ? (
          <span className={bar.value >= 0 ? 'pos' : 'neg'} style={{ width }} />
        ) : (
          <span className="pos" style={{ width: `${Math.abs(bar.fraction) * 100}%` }} />
        )}
      </span>
      <span className="why-number">{bar.label}</span>
    </td>
  );
}
