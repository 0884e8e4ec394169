/**
 * The fine-tuning worker: all TensorFlow.js training runs here, never on the page's thread.
 * It picks its own backend the way the page does (capability, then a timed prediction), since
 * a worker has its own tfjs instance. One run at a time; the training loop yields between steps,
 * so 'cancel' stops it after the current step and trainModel puts the previous weights back (the
 * page ends the worker if that takes too long). Anything thrown, even outside a run's promise
 * chain, is reported to the page as the run's error at once; the worker's death is seen through
 * its life lock (worker-life.ts).
 */
/// <reference lib="webworker" />
import '../train/register-gradients';
import { errorMessage } from '../core/errors';
import { chooseBackend } from '../model/backend';
import { measurePrediction } from '../model/pipeline';
import type { ModelManifest } from '../model/weights';
import { unpackStart, type FromWorker, type ToWorker } from '../train/finetune-protocol';
import { runFinetune } from '../train/finetune';
import { holdLifeLock } from './worker-life';

declare const self: DedicatedWorkerGlobalScope;

let current: { runId: number; controller: AbortController } | null = null;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

/**
 * An error outside a run's promise chain (a stray rejection, an exception in a callback) fails
 * the run now, and ends this worker: its state is unknown, the next run gets a fresh one.
 */
function failCurrent(error: unknown): void {
  if (current)
    post({ type: 'error', runId: current.runId, message: `the training worker failed: ${errorMessage(error)}` });
  current?.controller.abort();
  current = null;
  self.close();
}
self.addEventListener('unhandledrejection', (e) => {
  e.preventDefault();
  failCurrent(e.reason);
});
self.addEventListener('error', (e) => {
  failCurrent(e.error ?? e.message);
});

holdLifeLock(self);

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === 'cancel') {
    if (current?.runId === message.runId) current.controller.abort();
    return;
  }
  if (current) {
    post({ type: 'error', runId: message.runId, message: 'a fine-tuning run is already in progress' });
    return;
  }
  const run = { runId: message.runId, controller: new AbortController() };
  current = run;
  const prepareBackend = (manifest: ModelManifest, shards: ArrayBuffer[]) =>
    chooseBackend({
      preferred: message.settings.backend,
      measure: () => measurePrediction(manifest, shards),
      onStage: (stage) => post({ type: 'stage', runId: run.runId, message: stage }),
    });
  // Unpacking a large import happens here, inside the promise chain, so its errors are the run's.
  Promise.resolve()
    .then(() => runFinetune(unpackStart(message), post, run.controller.signal, prepareBackend))
    .catch((e: unknown) => {
      if (current === run) post({ type: 'error', runId: run.runId, message: errorMessage(e) });
    })
    .finally(() => {
      if (current === run) current = null;
    });
};
