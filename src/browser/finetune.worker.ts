/**
 * The fine-tuning worker: all TensorFlow.js training runs here, never on the page's thread.
 * It picks its own backend the way the page does (capability, then a timed prediction), since
 * a worker has its own tfjs instance. One run at a time; 'cancel' aborts it between steps and
 * trainModel puts the previous weights back.
 */
/// <reference lib="webworker" />
import { chooseBackend } from '../model/backend';
import { measurePrediction } from '../model/pipeline';
import type { FromWorker, ToWorker } from '../train/finetune-protocol';
import { runFinetune } from '../train/finetune';

declare const self: DedicatedWorkerGlobalScope;

let current: { runId: number; controller: AbortController } | null = null;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

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
  runFinetune(message, post, run.controller.signal, (manifest, shards) =>
    chooseBackend({
      preferred: message.settings.backend,
      measure: () => measurePrediction(manifest, shards),
      onStage: (stage) => post({ type: 'stage', runId: run.runId, message: stage }),
    }),
  )
    .catch((e: unknown) => post({ type: 'error', runId: run.runId, message: e instanceof Error ? e.message : String(e) }))
    .finally(() => {
      if (current === run) current = null;
    });
};
