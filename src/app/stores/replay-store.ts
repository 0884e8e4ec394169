/**
 * Replay: the sequences being replayed, where they came from, which one is selected and the
 * step t (the event being predicted from events 0..t-1).
 */
import { create } from 'zustand';
import type { BehaviorSequence } from '../../core/events';
import { loadReplayData, type ReplaySource } from '../../browser/behavior-logs';
import { errorMessage } from '../../core/errors';

export interface ReplayState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  source: ReplaySource | null;
  sequences: BehaviorSequence[];
  selectedId: string | null;
  /** Event being predicted, 1 ≤ step ≤ length - 1. */
  step: number;
  error: string | null;
  /** Loads the sequences once (from env.replayUrls unless told otherwise). */
  load: (urls?: { smartThings: string; demo: string }) => Promise<void>;
  /** Loads them again (e.g. the SmartThings data once the device is back online). */
  reload: () => Promise<void>;
  select: (id: string) => void;
  setStep: (step: number) => void;
  first: () => void;
  prev: () => void;
  next: () => void;
  last: () => void;
}

/** Valid step for a sequence of `length` events (t from 1 to length - 1). */
export function clampStep(step: number, length: number): number {
  if (length < 2) return 1;
  return Math.min(Math.max(Math.round(step), 1), length - 1);
}

export function selectedSequence(state: Pick<ReplayState, 'sequences' | 'selectedId'>): BehaviorSequence | null {
  return state.sequences.find((s) => s.id === state.selectedId) ?? null;
}

export const useReplayStore = create<ReplayState>()((set, get) => {
  const lengthOfSelected = () => selectedSequence(get())?.events.length ?? 0;
  const moveTo = (step: number) => set({ step: clampStep(step, lengthOfSelected()) });
  return {
    status: 'idle',
    source: null,
    sequences: [],
    selectedId: null,
    step: 1,
    error: null,

    load: async (urls) => {
      if (get().status === 'loading' || get().status === 'ready') return;
      set({ status: 'loading', error: null });
      try {
        // The SmartThings file (140,000 rows) is parsed in the import worker, not on the page.
        const { source, sequences } = await loadReplayData(urls, fetch, async (url, name) => {
          const { importLogInWorker } = await import('../../browser/log-import');
          return (await importLogInWorker({ kind: 'url', url, name }, { known: [], epochUnit: 'seconds' })).log;
        });
        set({ status: 'ready', source, sequences, selectedId: sequences[0]?.id ?? null, step: 1 });
      } catch (e) {
        set({ status: 'error', error: errorMessage(e) });
      }
    },
    reload: async () => {
      if (get().status === 'loading') return;
      set({ status: 'idle' });
      await get().load();
    },
    select: (id) => {
      if (!get().sequences.some((s) => s.id === id)) return;
      set({ selectedId: id, step: 1 });
    },
    setStep: moveTo,
    first: () => moveTo(1),
    prev: () => moveTo(get().step - 1),
    next: () => moveTo(get().step + 1),
    last: () => moveTo(lengthOfSelected() - 1),
  };
});
