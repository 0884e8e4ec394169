/**
 * Type: a sequence the user builds event by event, the draft event being entered, and when the
 * event to predict happens.
 */
import { create } from 'zustand';
import { UNKNOWN_LOCATION, type BehaviorEvent } from '../../core/events';

export interface Draft {
  behavior: string;
  weekday: number;
  slot: number;
}

export interface ComposeState {
  events: BehaviorEvent[];
  draft: Draft;
  nextWeekday: number;
  nextSlot: number;
  setDraft: (patch: Partial<Draft>) => void;
  /** Appends the draft as an event (its behavior must be validated by the caller). */
  addDraft: () => void;
  add: (event: Omit<BehaviorEvent, 'location'> & { location?: string }) => void;
  remove: (index: number) => void;
  clear: () => void;
  setNext: (patch: { weekday?: number; slot?: number }) => void;
}

export const useComposeStore = create<ComposeState>()((set, get) => ({
  events: [],
  draft: { behavior: '', weekday: 4, slot: 6 },
  nextWeekday: 4,
  nextSlot: 6,

  setDraft: (patch) => set((s) => ({ draft: { ...s.draft, ...patch } })),
  addDraft: () => {
    const { draft } = get();
    const behavior = draft.behavior.trim();
    if (!behavior) return;
    get().add({ behavior, weekday: draft.weekday, slot: draft.slot });
    set((s) => ({ draft: { ...s.draft, behavior: '' } }));
  },
  add: (event) => set((s) => ({ events: [...s.events, { ...event, location: event.location ?? UNKNOWN_LOCATION }] })),
  remove: (index) => set((s) => ({ events: s.events.filter((_, i) => i !== index) })),
  clear: () => set({ events: [] }),
  setNext: ({ weekday, slot }) => set((s) => ({ nextWeekday: weekday ?? s.nextWeekday, nextSlot: slot ?? s.nextSlot })),
}));
