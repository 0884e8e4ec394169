/** Evaluation: the dataset and target set whose results are shown (kept across section switches). */
import { create } from 'zustand';
import type { TargetSet } from '../lib/results-view';

export interface EvalState {
  /** null: the first dataset present. */
  dataset: string | null;
  targets: TargetSet;
  setDataset: (dataset: string) => void;
  setTargets: (targets: TargetSet) => void;
}

export const useEvalStore = create<EvalState>()((set) => ({
  dataset: null,
  targets: 'all',
  setDataset: (dataset) => set({ dataset }),
  setTargets: (targets) => set({ targets }),
}));
