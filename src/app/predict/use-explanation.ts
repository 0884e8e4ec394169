/**
 * Why and When for the prediction on screen, computed only while a panel is open, debounced and
 * latest-wins like the predictions (lib/latest.ts): stepping or editing quickly never shows an
 * explanation of an older query. They run on the main thread: `npm run bench -- --only explain`
 * measures a 32-event explanation and a week grid at a few milliseconds each on wasm in Chromium
 * (docs/EXPLAIN.md), less than a frame, so a worker would cost more (a second copy of the model)
 * than it saves.
 */
import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { BehaviorEvent, EventContext } from '../../core/events';
import type { BehaviorModel, Explanation, WhenMap } from '../../lib/index';
import { useLatestResult } from '../use-latest';
import { useExplainStore } from '../stores/explain-store';

export interface ExplanationQuery {
  /** Identifies the query (history, time, behavior and panels); a result is current when its key equals the query's. */
  key: string;
  history: readonly BehaviorEvent[];
  next: EventContext;
  behavior: string;
  why: boolean;
  when: boolean;
}

export interface ExplanationResult {
  status: 'idle' | 'loading' | 'ready' | 'error';
  key: string | null;
  why: Explanation | null;
  when: WhenMap | null;
  error: string | null;
  /** Time both took, ms. */
  ms: number | null;
}

type Computed = Pick<ExplanationResult, 'why' | 'when'> & { ms: number };

/**
 * `open`: whether a panel is open (nothing is computed otherwise); `query`: null while the query
 * is not known yet (the predictions it explains are loading), when the last result stays shown as stale.
 */
export function useExplanation(
  predictor: BehaviorModel | null,
  query: ExplanationQuery | null,
  open: boolean,
  debounceMs: number,
): ExplanationResult {
  const key = open && query ? query.key : null;
  const delivered = useLatestResult<Computed>(
    key,
    async () => {
      // Scheduled only with a key (a query with a panel open) and a predictor.
      if (!predictor || !query) throw new Error('no query');
      const t0 = performance.now();
      const why = query.why
        ? await predictor.explain([...query.history], query.next, { behavior: query.behavior })
        : null;
      const when = query.when
        ? await predictor.when([...query.history], query.behavior, { location: query.next.location })
        : null;
      return { why, when, ms: performance.now() - t0 };
    },
    debounceMs,
    predictor,
  );
  const shown = { why: delivered?.value?.why ?? null, when: delivered?.value?.when ?? null };
  if (!predictor || !open) return { status: 'idle', key: null, why: null, when: null, error: null, ms: null };
  if (!delivered || delivered.key !== key || delivered.source !== predictor)
    return { status: 'loading', key: delivered?.key ?? null, ...shown, error: null, ms: null };
  return {
    status: delivered.error ? 'error' : 'ready',
    key,
    ...shown,
    error: delivered.error,
    ms: delivered.error ? null : (delivered.value?.ms ?? null),
  };
}

/**
 * The explanation a Predict view shows: of the behavior picked among the top `k` predictions on
 * screen (the top-1 until one is picked, and again when the picked one leaves the top k), for the
 * panels open in the explain store. Waits for the predictions of the current query.
 */
export function useExplained(
  predictor: BehaviorModel | null,
  prediction: { status: string; key: string | null; predictions: readonly { behavior: string }[] },
  queryKey: string | null,
  history: readonly BehaviorEvent[],
  next: EventContext,
  k: number,
  debounceMs: number,
): { behavior: string | null; pick: (behavior: string) => void; result: ExplanationResult } {
  const { why, when } = useExplainStore(useShallow((s) => ({ why: s.why, when: s.when })));
  const [picked, setPicked] = useState<string | null>(null);
  const current = prediction.status === 'ready' && prediction.key === queryKey;
  const shown = current ? prediction.predictions.slice(0, k) : [];
  const behavior = shown.some((p) => p.behavior === picked) ? picked : (shown[0]?.behavior ?? null);
  // A new object each render is fine: useExplanation follows the key, not the object.
  const query =
    behavior && queryKey !== null
      ? { key: `${queryKey}|${behavior}|${why ? 'why' : ''}|${when ? 'when' : ''}`, history, next, behavior, why, when }
      : null;
  return { behavior, pick: setPicked, result: useExplanation(predictor, query, why || when, debounceMs) };
}
