/**
 * Predictions for the current query, debounced and latest-wins: while the user types or steps,
 * only the newest query's result is ever shown. A result belongs to the model that computed it:
 * when the model changes (another model picked, or reloaded on another backend after a lost GPU
 * device) the query runs again and the older result counts as stale.
 */
import type { BehaviorEvent, EventContext } from '../core/events';
import type { BehaviorModel, Prediction } from '../lib/index';
import { useLatestResult } from './use-latest';

export interface PredictionQuery {
  /** Identifies the query; a result is current when its key equals the query's. */
  key: string;
  history: readonly BehaviorEvent[];
  next: EventContext;
  k: number;
}

export interface PredictionResult {
  /** 'loading' until the result for the current query's key has arrived. */
  status: 'idle' | 'loading' | 'ready' | 'error';
  /** Last delivered predictions (possibly for an older query while loading). */
  predictions: Prediction[];
  /** Key of the query `predictions` belong to. */
  key: string | null;
  error: string | null;
  /** Time of the last prediction, ms. */
  ms: number | null;
}

interface Computed {
  predictions: Prediction[];
  ms: number;
}

export function usePredictions(
  predictor: BehaviorModel | null,
  query: PredictionQuery | null,
  debounceMs: number,
): PredictionResult {
  const delivered = useLatestResult<Computed>(
    query?.key ?? null,
    async () => {
      // Scheduled only with a key (a query) and a predictor.
      if (!predictor || !query) throw new Error('no query');
      const t0 = performance.now();
      const predictions = await predictor.predictNext([...query.history], query.next, { k: query.k });
      return { predictions, ms: performance.now() - t0 };
    },
    debounceMs,
    predictor,
  );
  const predictions = delivered?.value?.predictions ?? [];
  if (!predictor || !query) {
    return { status: 'idle', predictions, key: delivered?.key ?? null, error: null, ms: null };
  }
  if (!delivered || delivered.key !== query.key || delivered.source !== predictor) {
    return { status: 'loading', predictions, key: delivered?.key ?? null, error: null, ms: null };
  }
  return {
    status: delivered.error ? 'error' : 'ready',
    predictions,
    key: delivered.key,
    error: delivered.error,
    ms: delivered.error ? null : (delivered.value?.ms ?? null),
  };
}
