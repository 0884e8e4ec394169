/**
 * Debounced, latest-wins task runner for predictions. Pure (timers only, no DOM).
 *
 * - `schedule` replaces any waiting task and restarts the debounce timer;
 * - at most one task runs at a time; one scheduled while another runs starts when it ends;
 * - a result (or error) is delivered only if no newer task was scheduled since, so a stale
 *   result never overwrites a newer one.
 */
export interface LatestRunnerCallbacks<T> {
  onStart?: (key: string) => void;
  onResult: (key: string, value: T) => void;
  onError: (key: string, error: unknown) => void;
}

export interface LatestRunner<T> {
  schedule(key: string, task: () => Promise<T>): void;
  /** Drops waiting work and silences running work; the runner can be used again. */
  cancel(): void;
  /** True while a task runs or waits. */
  readonly busy: boolean;
}

interface Pending<T> {
  generation: number;
  key: string;
  task: () => Promise<T>;
}

export function createLatestRunner<T>(delayMs: number, callbacks: LatestRunnerCallbacks<T>): LatestRunner<T> {
  let generation = 0;
  let pending: Pending<T> | null = null;
  let due = false;
  let running = false;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const start = () => {
    const job = pending;
    if (!job) return;
    pending = null;
    due = false;
    running = true;
    callbacks.onStart?.(job.key);
    let promise: Promise<T>;
    try {
      promise = job.task();
    } catch (e) {
      promise = Promise.reject(e);
    }
    promise
      .then(
        (value) => {
          if (job.generation === generation) callbacks.onResult(job.key, value);
        },
        (error: unknown) => {
          if (job.generation === generation) callbacks.onError(job.key, error);
        },
      )
      .finally(() => {
        running = false;
        if (pending && due) start();
      });
  };

  return {
    schedule(key, task) {
      generation += 1;
      pending = { generation, key, task };
      due = false;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        due = true;
        if (!running) start();
      }, delayMs);
    },
    cancel() {
      generation += 1;
      pending = null;
      due = false;
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
    get busy() {
      return running || pending !== null;
    },
  };
}
