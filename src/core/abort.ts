/**
 * A promise that rejects with `signal`'s reason once it aborts (at once if it already has), to
 * race against work that cannot take a signal itself (a call into a worker, a model still
 * loading). `off` removes its listener when the race is over; without a signal it never settles.
 */
export function whenAborted(signal: AbortSignal | undefined): { aborted: Promise<never>; off: () => void } {
  let off = () => {};
  const aborted = new Promise<never>((_, reject) => {
    if (!signal) return;
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    off = () => signal.removeEventListener('abort', onAbort);
  });
  aborted.catch(() => {}); // observed by the race it is in
  return { aborted, off };
}
