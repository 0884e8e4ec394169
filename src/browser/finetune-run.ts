/**
 * Fine-tuning runs in the training worker the library owns (finetune.worker.ts): the one place
 * that starts, cancels and watches it, for the library's `finetune()` and the app's Fine-tune
 * tab alike. One run at a time per worker; the worker is kept for the next run and replaced
 * when it dies or has to be ended.
 *
 * - Progress: every message of the run (stage, backend, prepared, evaluated, progress) goes to
 *   `onEvent` as it arrives.
 * - Cancel: the signal asks the worker to stop after its current step; a worker that has not
 *   stopped CANCEL_GRACE_MS later (busy starting a backend or evaluating) is ended. The run
 *   rejects with the signal's reason either way, and a 'done' that arrives after the abort is
 *   dropped: a cancelled run never yields a model.
 * - Failure: an error in the worker, a message that cannot be read, or the worker's death (seen
 *   through its life lock, worker-life.ts) rejects the run at once with a message saying so.
 */
import type { FinetuneOutcome, FromWorker, StartMessage, ToWorker } from '../train/finetune-protocol';
import type { SequenceRef } from '../core/packed-log';
import { isLifeMessage, lifeLockName, watchLife } from './worker-life';

/** How long a worker may take to stop after a cancel before it is ended. */
export const CANCEL_GRACE_MS = 300;

type WithoutRunId<M> = M extends unknown ? Omit<M, 'runId'> : never;

/** A message of a run in progress (everything but its end), as a UI shows it. */
export type FinetuneEvent = WithoutRunId<Exclude<FromWorker, { type: 'done' | 'cancelled' | 'error' }>>;

interface Run {
  runId: number;
  onEvent: (event: FinetuneEvent) => void;
  /** Set once the run's signal has fired: the run ends cancelled whatever the worker says next. */
  cancelled: boolean;
  /** The adapted model, once the worker has it: what 'done' resolves with (a from-scratch arm may come between). */
  adapted: FinetuneOutcome | null;
  resolve: (outcome: FinetuneOutcome) => void;
  reject: (error: unknown) => void;
}

let worker: { instance: Worker; end: () => void } | null = null;
let current: Run | null = null;
let runCounter = 0;

/** Ends the run in progress (if any) with `error`. */
function failCurrent(error: unknown): void {
  const run = current;
  current = null;
  run?.reject(error);
}

function onMessage(m: FromWorker): void {
  const run = current;
  if (!run || m.runId !== run.runId) return; // a message of an earlier run
  if (m.type === 'done' || m.type === 'cancelled' || m.type === 'error') {
    current = null;
    if (run.cancelled)
      run.reject(null); // the reason is the signal's (see runFinetuneInWorker)
    else if (m.type === 'done') {
      if (run.adapted) run.resolve(run.adapted);
      else run.reject(new Error('the training worker finished without an adapted model'));
    } else if (m.type === 'error') run.reject(new Error(m.message));
    else run.reject(new DOMException('the fine-tuning run was cancelled', 'AbortError'));
    return;
  }
  if (run.cancelled) return;
  if (m.type === 'adapted') run.adapted = m.outcome;
  const { runId: _runId, ...event } = m;
  run.onEvent(event);
}

function ensureWorker(): Worker {
  if (worker) return worker.instance;
  const name = lifeLockName('behavegpt-finetune');
  const w = new Worker(new URL('./finetune.worker.ts', import.meta.url), { type: 'module', name });
  let stopWatching = () => {};
  const handle = {
    instance: w,
    end: () => {
      stopWatching();
      w.terminate();
      if (worker === handle) worker = null;
    },
  };
  const died = (error: string) => {
    handle.end();
    failCurrent(new Error(error));
  };
  w.onmessage = (event: MessageEvent<unknown>) => {
    if (isLifeMessage(event.data)) {
      stopWatching = watchLife(name, () =>
        died('the training worker stopped unexpectedly (out of memory?); no model was changed'),
      );
      return;
    }
    onMessage(event.data as FromWorker);
  };
  w.onerror = (event) => {
    event.preventDefault();
    died(`the training worker failed: ${event.message || 'unknown error'}`);
  };
  w.onmessageerror = () => died('a message from the training worker could not be read');
  worker = handle;
  return w;
}

export interface RunOptions {
  onEvent?: (event: FinetuneEvent) => void;
  /** Cancels the run: it rejects with the signal's reason within CANCEL_GRACE_MS, and no model comes of it. */
  signal?: AbortSignal;
}

/** Whether a fine-tuning run is in progress (or still stopping after a cancel). */
export function finetuneBusy(): boolean {
  return current !== null;
}

/**
 * Runs one fine-tuning request in the worker. `start` comes without its runId (given here); its
 * shards are transferred, so they are unusable here afterwards (the log, packed or not, is
 * copied). Rejects at once if another run is in progress.
 */
export function runFinetuneInWorker(
  start: Omit<StartMessage, 'runId'> | Omit<StartMessage<SequenceRef>, 'runId'>,
  options: RunOptions = {},
): Promise<FinetuneOutcome> {
  const { onEvent = () => {}, signal } = options;
  if (current) return Promise.reject(new Error('a fine-tuning run is already in progress'));
  if (signal?.aborted) return Promise.reject(signal.reason);
  const runId = ++runCounter;
  return new Promise<FinetuneOutcome>((resolve, reject) => {
    let grace: ReturnType<typeof setTimeout> | undefined;
    const settle = () => {
      clearTimeout(grace);
      signal?.removeEventListener('abort', abort);
    };
    const run: Run = {
      runId,
      onEvent,
      cancelled: false,
      adapted: null,
      resolve: (outcome) => {
        settle();
        resolve(outcome);
      },
      reject: (error) => {
        settle();
        reject(run.cancelled ? signal!.reason : error);
      },
    };
    const abort = () => {
      if (current !== run) return;
      run.cancelled = true;
      worker?.instance.postMessage({ type: 'cancel', runId } satisfies ToWorker);
      // Busy outside a training step (starting a backend, evaluating): ended, and a new worker serves the next run.
      grace = setTimeout(() => {
        if (current !== run) return;
        worker?.end();
        failCurrent(null);
      }, CANCEL_GRACE_MS);
    };
    signal?.addEventListener('abort', abort);
    current = run;
    try {
      ensureWorker().postMessage({ ...start, runId } as ToWorker, start.base.shards);
    } catch (e) {
      current = null;
      run.reject(e);
    }
  });
}
