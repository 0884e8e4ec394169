/**
 * Predictions for the current query, debounced and latest-wins: while the user types or steps,
 * only the newest query's result is ever shown. A result belongs to the model that computed it:
 * when the model changes (another model picked, or reloaded on another backend after a lost GPU
 * device) the query runs again and the older result counts as stale.
 */
import { useEffect, useRef, useState } from 'react';
import type { BehaviorEvent, EventContext } from '../core/events';
import type { Predictor } from '../model/pipeline';
import type { Prediction } from '../model/pipeline-types';
import { createLatestRunner, type LatestRunner } from './lib/latest';

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

interface Delivered {
  key: string;
  predictor: Predictor | null;
  predictions: Prediction[];
  error: string | null;
  ms: number | null;
}

export function usePredictions(predictor: Predictor | null, query: PredictionQuery | null, debounceMs: number): PredictionResult {
  const [delivered, setDelivered] = useState<Delivered | null>(null);
  const runner = useRef<LatestRunner<{ predictions: Prediction[]; ms: number; predictor: Predictor }> | null>(null);
  /** The model of the newest scheduled query: a delivered error is that query's (latest wins). */
  const scheduledWith = useRef<Predictor | null>(null);

  useEffect(() => {
    const r = createLatestRunner<{ predictions: Prediction[]; ms: number; predictor: Predictor }>(debounceMs, {
      onResult: (key, { predictions, ms, predictor }) => setDelivered({ key, predictor, predictions, error: null, ms }),
      onError: (key, error) =>
        setDelivered((d) => ({
          key,
          predictor: scheduledWith.current,
          predictions: d?.predictions ?? [],
          error: error instanceof Error ? error.message : String(error),
          ms: null,
        })),
    });
    runner.current = r;
    return () => {
      r.cancel();
      if (runner.current === r) runner.current = null;
    };
  }, [debounceMs]);

  const queryRef = useRef(query);
  queryRef.current = query;
  const key = query?.key ?? null;

  useEffect(() => {
    const q = queryRef.current;
    if (!predictor || !q || !runner.current) return;
    scheduledWith.current = predictor;
    runner.current.schedule(q.key, async () => {
      const t0 = performance.now();
      const predictions = await predictor.predictNext([...q.history], q.next, q.k);
      return { predictions, ms: performance.now() - t0, predictor };
    });
  }, [predictor, key]);

  if (!predictor || !query) {
    return { status: 'idle', predictions: delivered?.predictions ?? [], key: delivered?.key ?? null, error: null, ms: null };
  }
  if (!delivered || delivered.key !== query.key || delivered.predictor !== predictor) {
    return { status: 'loading', predictions: delivered?.predictions ?? [], key: delivered?.key ?? null, error: null, ms: null };
  }
  return {
    status: delivered.error ? 'error' : 'ready',
    predictions: delivered.predictions,
    key: delivered.key,
    error: delivered.error,
    ms: delivered.ms,
  };
}
