/**
 * Scoring a log: every position of an imported log ranked by the active model, with the metrics of
 * `npm run evaluate` (BehaviorModel.scoreLog), on the engine measured fastest for this workload. One
 * run at a time; a new run or a model change stops the one in progress.
 */
import { create } from 'zustand';
import type { BehaviorSequence } from '../../core/events';
import type { LogScore } from '../../lib/index';
import { useModelStore } from './model-store';
import { errorMessage } from '../../core/errors';

export type ScoreStatus = 'idle' | 'running' | 'done' | 'stopped' | 'error';

export interface ScoreState {
  status: ScoreStatus;
  /** The log and model of the run in progress or last finished. */
  logName: string | null;
  modelName: string | null;
  done: number;
  total: number;
  result: LogScore | null;
  error: string | null;
  start: (name: string, sequences: readonly BehaviorSequence[]) => Promise<void>;
  stop: (reason?: string) => void;
}

let active: { controller: AbortController; predictor: object } | null = null;

export const useScoreStore = create<ScoreState>()((set, get) => ({
  status: 'idle',
  logName: null,
  modelName: null,
  done: 0,
  total: 0,
  result: null,
  error: null,

  start: async (name, sequences) => {
    get().stop();
    const { predictor, summary } = useModelStore.getState();
    if (!predictor) {
      set({ status: 'error', error: 'The model is not loaded yet.', result: null });
      return;
    }
    const controller = new AbortController();
    const run = { controller, predictor };
    active = run;
    set({
      status: 'running',
      logName: name,
      modelName: summary?.name ?? null,
      done: 0,
      total: 0,
      result: null,
      error: null,
    });
    try {
      const result = await predictor.scoreLog(sequences, {
        signal: controller.signal,
        onProgress: (done, total) => active === run && set({ done, total }),
      });
      if (active !== run) return;
      active = null;
      set({ status: 'done', result, done: result.targets, total: result.targets });
    } catch (e) {
      if (active !== run) return;
      active = null;
      set({
        status: controller.signal.aborted ? 'stopped' : 'error',
        error: controller.signal.aborted ? null : errorMessage(e),
      });
    }
  },

  stop: (reason = 'Stopped.') => {
    const run = active;
    if (!run) return;
    active = null;
    run.controller.abort(new DOMException(reason, 'AbortError'));
    set({ status: 'stopped', error: reason });
  },
}));

// The predictor a run uses is disposed when the model changes: the run stops.
useModelStore.subscribe((state) => {
  if (active && state.predictor !== active.predictor) useScoreStore.getState().stop('The model changed.');
});
