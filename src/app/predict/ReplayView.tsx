import { useEffect, useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { slotLabel, weekdayLabel } from '../../core/events';
import { OFFLINE_REASON } from '../../browser/behavior-logs';
import { useModelStore } from '../stores/model-store';
import { selectedSequence, useReplayStore } from '../stores/replay-store';
import { usePredictions, type PredictionQuery } from '../use-predictions';
import { formatCount, formatPercent, rankIn } from '../lib/format';
import { EventList } from '../components/EventList';
import { PredictionList } from '../components/PredictionList';
import { SequencePicker } from '../components/SequencePicker';
import { useExplainStore } from '../stores/explain-store';
import { useExplained } from './use-explanation';
import { ExplainToggles, useWhyColumn, WhyControls } from './WhyPanel';
import { WeekPanel } from './WeekPanel';
import './predict.css';

const K = 5;

export function ReplayView() {
  const { status, source, sequences, selectedId, step, error } = useReplayStore(
    useShallow((s) => ({
      status: s.status,
      source: s.source,
      sequences: s.sequences,
      selectedId: s.selectedId,
      step: s.step,
      error: s.error,
    })),
  );
  const { load, reload, select, setStep, first, prev, next, last } = useReplayStore(
    useShallow((s) => ({
      load: s.load,
      reload: s.reload,
      select: s.select,
      setStep: s.setStep,
      first: s.first,
      prev: s.prev,
      next: s.next,
      last: s.last,
    })),
  );
  const predictor = useModelStore((s) => s.predictor);
  const modelStatus = useModelStore((s) => s.status);
  const vocabularySize = useModelStore((s) => s.summary?.behaviors.length ?? K);

  useEffect(() => {
    void load();
  }, [load]);

  // Back online after falling back to the demo sequences for being offline: the SmartThings data again.
  const offlineFallback = source?.fallbackReason === OFFLINE_REASON;
  useEffect(() => {
    if (!offlineFallback) return;
    const retry = () => void reload();
    window.addEventListener('online', retry);
    return () => window.removeEventListener('online', retry);
  }, [offlineFallback, reload]);

  const sequence = selectedSequence({ sequences, selectedId });

  const last_t = sequence ? sequence.events.length - 1 : 0;
  const target = sequence?.events[step];
  // Rank among all behaviors: ask for the full ranking, show the top K.
  const query: PredictionQuery | null = useMemo(
    () =>
      sequence && target
        ? {
            key: `${sequence.id}#${step}`,
            history: sequence.events.slice(0, step),
            next: { weekday: target.weekday, slot: target.slot, location: target.location },
            k: vocabularySize,
          }
        : null,
    [sequence, target, step, vocabularySize],
  );
  const result = usePredictions(predictor, query, 40);
  const history = query?.history ?? [];
  const explained = useExplained(
    predictor,
    result,
    query?.key ?? null,
    history,
    query?.next ?? { weekday: 0, slot: 0, location: '' },
    K,
    40,
  );
  const whyColumn = useWhyColumn(explained.result, history.length);
  const { why, when } = useExplainStore(useShallow((s) => ({ why: s.why, when: s.when })));
  const current = result.status === 'ready';
  const rank = current && target ? rankIn(result.predictions, target.behavior) : null;
  const actualProbability =
    current && target ? result.predictions.find((p) => p.behavior === target.behavior)?.probability : undefined;

  if (status === 'loading' || status === 'idle') return <p className="muted">Loading sequences…</p>;
  if (status === 'error') {
    return (
      <p className="error" role="alert">
        Could not load sequences: {error}
      </p>
    );
  }

  return (
    <div className="replay">
      <p className="source" data-testid="replay-source" data-kind={source?.kind}>
        Source: <strong>{source?.label}</strong> — {formatCount(sequences.length)} sequences from{' '}
        <code>{source?.url}</code>
        {source?.fallbackReason && (
          <span className="muted"> (SmartThings data unavailable: {source.fallbackReason})</span>
        )}
      </p>

      <div className="controls">
        <SequencePicker
          id="replay-select"
          filterId="replay-filter"
          sequences={sequences}
          selectedId={selectedId}
          onSelect={select}
        />
      </div>

      {sequence && target && (
        <>
          {/* biome-ignore lint/a11y/useSemanticElements: a row of step buttons, not a form (no fieldset) */}
          <div className="stepper" role="group" aria-label="Step">
            <button
              type="button"
              onClick={first}
              disabled={step <= 1}
              data-testid="replay-first"
              aria-label="First step"
            >
              «
            </button>
            <button
              type="button"
              onClick={prev}
              disabled={step <= 1}
              data-testid="replay-prev"
              aria-label="Previous step"
            >
              ‹
            </button>
            <input
              type="range"
              min={1}
              max={Math.max(1, last_t)}
              value={step}
              onChange={(e) => setStep(Number(e.target.value))}
              aria-label="Step"
              data-testid="replay-slider"
              disabled={last_t <= 1}
            />
            <button
              type="button"
              onClick={next}
              disabled={step >= last_t}
              data-testid="replay-next"
              aria-label="Next step"
            >
              ›
            </button>
            <button
              type="button"
              onClick={last}
              disabled={step >= last_t}
              data-testid="replay-last"
              aria-label="Last step"
            >
              »
            </button>
            <output data-testid="replay-step" data-step={step} data-last={last_t} aria-live="polite">
              t = {step} of {last_t}
            </output>
          </div>

          <div className="columns">
            <EventList
              events={history}
              caption={`Events so far (0…${step - 1})`}
              annotation={whyColumn}
              rowTestId="replay-event-row"
            />
            <div>
              <p className="context">
                Predicting event {step} on <strong>{weekdayLabel(target.weekday)}</strong>,{' '}
                <strong>{slotLabel(target.slot)}</strong>
              </p>
              <PredictionList
                result={result}
                k={K}
                actual={target.behavior}
                placeholder={modelStatus === 'error' ? 'No model.' : 'Waiting for the model…'}
                explained={why || when ? explained.behavior : null}
                onExplain={why || when ? explained.pick : undefined}
              />
              <div
                className={`actual ${rank !== null && rank <= K ? 'in-top' : rank !== null ? 'out-top' : ''}`}
                data-testid="actual-behavior"
                data-behavior={target.behavior}
                data-rank={rank ?? ''}
                data-in-top-k={rank !== null ? String(rank <= K) : ''}
              >
                <span className="label">Actual event {step}:</span> <strong>{target.behavior}</strong>
                {current && rank !== null && (
                  <span className="verdict">
                    {rank <= K
                      ? `✓ in the top ${K}, rank ${rank}`
                      : `✗ not in the top ${K}: rank ${rank} of ${result.predictions.length}`}
                    {actualProbability !== undefined && ` (p = ${formatPercent(actualProbability)})`}
                  </span>
                )}
                {current && rank === null && <span className="verdict">✗ not in the model's vocabulary</span>}
              </div>
              <ExplainToggles result={explained.result} />
              {why && (
                <WhyControls result={explained.result} behavior={explained.behavior} historyLength={history.length} />
              )}
              {when && <WeekPanel result={explained.result} behavior={explained.behavior} current={target} />}
            </div>
          </div>
        </>
      )}
    </div>
  );
}
