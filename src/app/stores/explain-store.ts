/**
 * Why and When in Predict (Replay and Type): whether each panel is open — explanations are
 * computed only while it is — and how they are shown. Shared by both views, like a preference.
 */
import { create } from 'zustand';
import type { AttentionChoice, WeekView, WhyMethod } from '../lib/explain-view';

export interface ExplainState {
  why: boolean;
  when: boolean;
  /** Bars beside the events: occlusion influence (the faithful one, docs/EXPLAIN.md) or attention. */
  method: WhyMethod;
  attention: AttentionChoice;
  weekView: WeekView;
  toggleWhy: () => void;
  toggleWhen: () => void;
  setMethod: (method: WhyMethod) => void;
  setAttention: (choice: AttentionChoice) => void;
  setWeekView: (view: WeekView) => void;
}

export const useExplainStore = create<ExplainState>()((set) => ({
  why: false,
  when: false,
  method: 'occlusion',
  attention: 'mean',
  weekView: 'heatmap',
  toggleWhy: () => set((s) => ({ why: !s.why })),
  toggleWhen: () => set((s) => ({ when: !s.when })),
  setMethod: (method) => set({ method }),
  setAttention: (attention) => set({ attention }),
  setWeekView: (weekView) => set({ weekView }),
}));
