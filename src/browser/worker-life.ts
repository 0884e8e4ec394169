/**
 * Knowing at once when a worker dies. A worker that crashes (out of memory), closes itself or is
 * ended by the browser sends no message and fires no event on its Worker object; but the Web
 * Locks it holds are released the moment it ends. So the worker holds a lock named after itself
 * for its whole life (holdLifeLock, once at start), says so, and the page then waits for that
 * lock (watchLife): being granted it means the worker is gone.
 */

/** What a worker posts once it holds its life lock. */
export interface LifeMessage {
  type: 'alive';
}

export function isLifeMessage(data: unknown): data is LifeMessage {
  return typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'alive';
}

/** In a worker created with a `name`: holds the lock of that name until the worker ends, then posts 'alive'. */
export function holdLifeLock(scope: { name: string; postMessage(message: LifeMessage): void }): void {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks || !scope.name) return; // no Web Locks: death is then only seen through error events
  void locks.request(scope.name, () => {
    scope.postMessage({ type: 'alive' });
    return new Promise<never>(() => {}); // held for the worker's lifetime
  });
}

/** A fresh, unique name for a worker and its life lock. */
export function lifeLockName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * On the page, after the worker's 'alive': calls `onDeath` when the worker ends for any reason
 * other than the page ending it (call the returned stop() before worker.terminate()).
 */
export function watchLife(name: string, onDeath: () => void): () => void {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  let watching = true;
  const controller = new AbortController();
  locks
    ?.request(name, { signal: controller.signal }, () => {
      if (watching) onDeath();
    })
    .catch(() => {}); // aborted by stop()
  return () => {
    watching = false;
    controller.abort();
  };
}
