/**
 * Imports a behavior log in a worker (log-import.worker.ts): the page only receives progress,
 * the summary and the packed log, so parsing never blocks it and no event objects are cloned
 * to it. Errors (a DataError's file, line and field, a broken gzip file, the worker's death)
 * reject the promise with their message.
 */
import type { EpochUnit } from '../core/data';
import type { ImportSummary } from '../core/finetune';
import type { PackedLog } from '../core/packed-log';
import type { ImportReply, ImportSource } from './log-import-protocol';
import { isLifeMessage, lifeLockName, watchLife } from './worker-life';

export type { ImportSource } from './log-import-protocol';

export interface ImportOptions {
  known: readonly string[];
  epochUnit: EpochUnit;
  onProgress?: (loaded: number, total: number) => void;
  signal?: AbortSignal;
}

export function importLogInWorker(
  source: ImportSource,
  options: ImportOptions,
): Promise<{ log: PackedLog; summary: ImportSummary }> {
  const { onProgress = () => {}, signal } = options;
  return new Promise((resolve, reject) => {
    const name = lifeLockName('behavegpt-import');
    const worker = new Worker(new URL('./log-import.worker.ts', import.meta.url), { type: 'module', name });
    let stopWatching = () => {};
    const end = () => {
      stopWatching();
      worker.terminate();
      signal?.removeEventListener('abort', abort);
    };
    const fail = (error: unknown) => {
      end();
      reject(error);
    };
    const abort = () => fail(signal!.reason);
    signal?.addEventListener('abort', abort);
    worker.onmessage = (event: MessageEvent<ImportReply | { type: 'alive' }>) => {
      const m = event.data;
      if (isLifeMessage(m)) {
        stopWatching = watchLife(name, () =>
          fail(new Error('the import stopped unexpectedly (the file may be too large for this device)')),
        );
        return;
      }
      if (m.type === 'progress') onProgress(m.loaded, m.total);
      else if (m.type === 'error') fail(new Error(m.message));
      else {
        end();
        resolve({ log: m.log, summary: m.summary });
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      fail(new Error(`the import failed: ${event.message || 'unknown error'}`));
    };
    worker.onmessageerror = () => fail(new Error('the imported log could not be passed to the page'));
    worker.postMessage({ source, known: [...options.known], epochUnit: options.epochUnit });
  });
}
