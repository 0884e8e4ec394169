/**
 * The hook behind predictions and explanations: runs a task for each new key, debounced and
 * latest-wins (lib/latest.ts), and returns what was last delivered, so that a result is shown as
 * current only when its key is the query's.
 */
import { useEffect, useRef, useState } from 'react';
import { createLatestRunner, type LatestRunner } from './lib/latest';
import { errorMessage } from '../core/errors';

export interface Delivered<T> {
  key: string;
  /** The `source` the task ran with: a result of another source (an older model) is not current. */
  source: unknown;
  /** The task's result; after an error, the last value delivered before it (or null). */
  value: T | null;
  error: string | null;
}

/**
 * Schedules `task` whenever `key` or `source` (e.g. the predictor: a new model answers the same
 * query anew) changes; a null key schedules nothing. The task run is the one of the render that
 * scheduled it.
 */
export function useLatestResult<T>(
  key: string | null,
  task: () => Promise<T>,
  debounceMs: number,
  source: unknown,
): Delivered<T> | null {
  const [delivered, setDelivered] = useState<Delivered<T> | null>(null);
  const runner = useRef<LatestRunner<T> | null>(null);
  /** The source of the newest scheduled task: what is delivered is that task's (latest wins). */
  const scheduledWith = useRef<unknown>(null);

  useEffect(() => {
    const r = createLatestRunner<T>(debounceMs, {
      onResult: (done, value) => setDelivered({ key: done, source: scheduledWith.current, value, error: null }),
      onError: (done, error) =>
        setDelivered((d) => ({
          key: done,
          source: scheduledWith.current,
          value: d?.value ?? null,
          error: errorMessage(error),
        })),
    });
    runner.current = r;
    return () => {
      r.cancel();
      if (runner.current === r) runner.current = null;
    };
  }, [debounceMs]);

  const taskRef = useRef(task);
  taskRef.current = task;

  useEffect(() => {
    if (key === null || !source || !runner.current) return;
    scheduledWith.current = source;
    runner.current.schedule(key, taskRef.current);
  }, [key, source]);

  return delivered;
}
