/**
 * Generate: the form's settings, the run in progress or last finished, and the events it has
 * generated so far. A run goes through the active model's Predictor.generate on the main thread:
 * the generator awaits the backend each step, and the loop below hands each frame back to the
 * page after ~25 ms of work, so clicks and painting go on. Events are handed to React at most
 * once per animation frame, so a 1000-event run does not re-render 1000 times. stop() aborts at
 * once: nothing generated after it is shown.
 */
import { create } from 'zustand';
import type { BehaviorEvent, BehaviorSequence } from '../../core/events';
import type { WeekTime } from '../../core/time';
import type { GeneratedEvent, TrajectoryEvent } from '../../lib/index';
import {
  DEFAULT_SETTINGS,
  choosePrefix,
  planRun,
  type GenerateSettings,
  type GenerateSource,
  type RunPlan,
} from '../lib/generate-view';
import { useComposeStore } from './compose-store';
import { useModelStore } from './model-store';
import { selectedSequence, useReplayStore } from './replay-store';
import { errorMessage } from '../../core/errors';

export type GenerateStatus = 'idle' | 'running' | 'stopped' | 'done' | 'error';

/** A run as it was started: what it continues and how, kept for the timeline and the comparisons. */
export interface GenerateRun {
  id: number;
  source: GenerateSource;
  description: string;
  prefix: BehaviorEvent[];
  /** Replay only: the real events after the prefix, and the whole sequence. */
  continuation: BehaviorEvent[] | null;
  sequence: BehaviorSequence | null;
  anchor: WeekTime;
  startGiven: boolean;
  /** maxEvents and horizon asked for. */
  maxEvents: number;
  /** Trajectories sampled together (the timeline and the list show the first). */
  trajectories: number;
  horizonDays: number | null;
  /** Model-store key (URL or idb:<id>) and name of the model that generated it. */
  model: string;
  modelName: string;
  startedAt: number;
  finishedAt: number | null;
}

export interface GenerateState {
  settings: GenerateSettings;
  status: GenerateStatus;
  run: GenerateRun | null;
  /** Generated events of the run's first trajectory, in order (appended in batches while it runs). */
  events: GeneratedEvent[];
  /** Events of every trajectory of a run of several (empty for one): what the charts pool. */
  pooled: GeneratedEvent[];
  error: string | null;
  /** Why a run stopped before its end ("Stopped.", "The model changed."). */
  stopReason: string | null;
  setSettings: (patch: Partial<GenerateSettings>) => void;
  /** Starts a run with the current settings (stopping one in progress). */
  start: () => Promise<void>;
  /** Stops the run in progress; its events so far stay. */
  stop: (reason?: string) => void;
  /** Forgets the last run. */
  clear: () => void;
}

export const CANNOT_GENERATE =
  'This model cannot generate trajectories: it has no time head, the part of the model that predicts when the next event happens ' +
  '(it was trained, or adapted from a model trained, before generation existed). Use the shipped foundation model, or fine-tune again from it.';

/**
 * Lets the page paint and handle input: waits for the next animation frame and then a task after
 * it (so that frame is painted before the loop goes on). scheduler.yield() is not enough: its
 * continuation outranks rendering, and a long run would starve the page of frames. Without
 * frames (a hidden tab, Node) a timer resumes the loop.
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(fallback);
      resolve();
    };
    const fallback = setTimeout(finish, typeof requestAnimationFrame === 'undefined' ? 0 : 100);
    if (typeof requestAnimationFrame !== 'undefined') requestAnimationFrame(() => setTimeout(finish, 0));
  });
}

/** Longest the loop runs before giving a frame back to the page, ms: input waits at most about this long. */
const SLICE_MS = 24;
/** Flush at least this often when animation frames do not come (a hidden tab). */
const FLUSH_FALLBACK_MS = 120;

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

let runCounter = 0;
/** The run in progress: its abort controller and the predictor it uses. */
let active: { id: number; controller: AbortController; predictor: object; flush: () => void } | null = null;

export const useGenerateStore = create<GenerateState>()((set, get) => ({
  settings: DEFAULT_SETTINGS,
  status: 'idle',
  run: null,
  events: [],
  pooled: [],
  error: null,
  stopReason: null,

  setSettings: (patch) => set((s) => ({ settings: { ...s.settings, ...patch } })),

  start: async () => {
    if (active) get().stop();
    const { predictor, url, summary } = useModelStore.getState();
    const fail = (error: string) =>
      set({ status: 'error', error, stopReason: null, run: null, events: [], pooled: [] });
    if (!predictor) return fail('The model is not loaded yet.');
    if (!predictor.info.canGenerate) return fail(CANNOT_GENERATE);

    const { settings } = get();
    const replay = useReplayStore.getState();
    const choice = choosePrefix(settings.source, {
      replay: { sequence: selectedSequence(replay), step: replay.step },
      typed: useComposeStore.getState().events,
    });
    const planned = planRun(settings, choice.prefix);
    if (!planned.plan) return fail(planned.errors.join(' '));
    const plan: RunPlan = planned.plan;

    const id = ++runCounter;
    const controller = new AbortController();
    const run: GenerateRun = {
      id,
      source: choice.source,
      description: choice.description,
      prefix: choice.prefix,
      continuation: choice.continuation,
      sequence: choice.sequence,
      anchor: plan.anchor,
      startGiven: plan.startGiven,
      maxEvents: plan.options.maxEvents,
      trajectories: settings.trajectories,
      horizonDays: settings.mode === 'horizon' ? settings.days : null,
      model: url,
      modelName: summary?.name ?? url,
      startedAt: Date.now(),
      finishedAt: null,
    };

    // Events wait in `pending` until the next animation frame (or the fallback timer).
    let pending: GeneratedEvent[] = [];
    let pendingPooled: GeneratedEvent[] = [];
    let frame: number | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const cancelScheduled = () => {
      if (frame !== null) cancelAnimationFrame(frame);
      if (timer !== null) clearTimeout(timer);
      frame = null;
      timer = null;
    };
    const flush = () => {
      cancelScheduled();
      if ((pending.length === 0 && pendingPooled.length === 0) || get().run?.id !== id) return;
      const batch = pending;
      const pooled = pendingPooled;
      pending = [];
      pendingPooled = [];
      set((s) => ({
        events: batch.length ? s.events.concat(batch) : s.events,
        pooled: pooled.length ? s.pooled.concat(pooled) : s.pooled,
      }));
    };
    const schedule = () => {
      if (frame !== null || timer !== null) return;
      if (typeof requestAnimationFrame !== 'undefined') frame = requestAnimationFrame(flush);
      timer = setTimeout(flush, FLUSH_FALLBACK_MS);
    };

    active = { id, controller, predictor, flush };
    set({ status: 'running', run, events: [], pooled: [], error: null, stopReason: null });

    const finish = (patch: Partial<GenerateState>) => {
      if (active?.id === id) active = null;
      set((s) => ({ ...patch, run: s.run ? { ...s.run, finishedAt: Date.now() } : s.run }));
    };
    try {
      let lastYield = now();
      const options = { ...plan.options, signal: controller.signal };
      // One trajectory streams event by event; several are stepped together (generateMany).
      const steps: AsyncIterable<GeneratedEvent[]> =
        run.trajectories > 1
          ? predictor.generateMany(options.prefix, run.trajectories, options)
          : (async function* () {
              for await (const event of predictor.generate(options.prefix, options)) yield [event];
            })();
      for await (const step of steps) {
        // Whatever the step in flight produced after stop() is dropped.
        if (controller.signal.aborted) break;
        for (const event of step) {
          if (((event as TrajectoryEvent).trajectory ?? 0) === 0) pending.push(event);
          if (run.trajectories > 1) pendingPooled.push(event);
        }
        schedule();
        if (now() - lastYield > SLICE_MS) {
          await yieldToEventLoop();
          lastYield = now();
          if (controller.signal.aborted) break;
        }
      }
      if (controller.signal.aborted) return; // stop() has flushed and set the status
      flush();
      finish({ status: 'done' });
    } catch (e) {
      cancelScheduled();
      if (controller.signal.aborted) return; // e.g. the model was disposed under the run
      pending = [];
      pendingPooled = [];
      finish({ status: 'error', error: errorMessage(e) });
    }
  },

  stop: (reason = 'Stopped.') => {
    const run = active;
    if (!run) return;
    active = null;
    run.flush();
    run.controller.abort();
    set((s) => ({ status: 'stopped', stopReason: reason, run: s.run ? { ...s.run, finishedAt: Date.now() } : s.run }));
  },

  clear: () => {
    get().stop();
    set({ status: 'idle', run: null, events: [], pooled: [], error: null, stopReason: null });
  },
}));

// A run stops when the model it uses is replaced (its tensors are disposed on the switch).
useModelStore.subscribe((state) => {
  if (active && state.predictor !== active.predictor) useGenerateStore.getState().stop('The model changed.');
});
