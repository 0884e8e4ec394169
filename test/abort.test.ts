import { describe, expect, it } from 'vitest';
import { whenAborted } from '../src/core/abort';

const settledWithin = (p: Promise<unknown>, ms = 20) =>
  Promise.race([
    p.then(
      () => 'resolved',
      (e: unknown) => e,
    ),
    new Promise((resolve) => setTimeout(() => resolve('pending'), ms)),
  ]);

describe('whenAborted', () => {
  it('rejects with the signal’s reason when it aborts, and at once when it already has', async () => {
    const controller = new AbortController();
    const { aborted } = whenAborted(controller.signal);
    expect(await settledWithin(aborted)).toBe('pending');
    const reason = new Error('stop');
    controller.abort(reason);
    expect(await settledWithin(aborted)).toBe(reason);
    expect(await settledWithin(whenAborted(controller.signal).aborted)).toBe(reason);
  });

  it('never settles without a signal, or after off()', async () => {
    expect(await settledWithin(whenAborted(undefined).aborted)).toBe('pending');
    const controller = new AbortController();
    const { aborted, off } = whenAborted(controller.signal);
    off();
    controller.abort(new Error('too late'));
    expect(await settledWithin(aborted)).toBe('pending');
  });
});
