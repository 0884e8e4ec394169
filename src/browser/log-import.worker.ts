/**
 * The log-import worker: a picked file (or a bundled data set) is streamed, gunzipped and parsed
 * here, with progress, so a large or hostile file never blocks the page. The page gets the
 * summary and the log packed in typed arrays (transferred, not cloned). One import per worker;
 * the page ends it when the import is done.
 */
/// <reference lib="webworker" />
import { DataError, formatBytes, PARSE_LIMITS } from '../core/data';
import { errorMessage } from '../core/errors';
import { summarizeImport } from '../core/finetune';
import { packedBuffers, packLog } from '../core/packed-log';
import { openLogUrl, parseLogStream } from './behavior-logs';
import type { ImportReply, ImportRequest } from './log-import-protocol';
import { holdLifeLock } from './worker-life';

declare const self: DedicatedWorkerGlobalScope;

/** Progress messages at most this often. */
const PROGRESS_MS = 100;

function post(message: ImportReply, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

async function open(
  source: ImportRequest['source'],
): Promise<{ name: string; body: ReadableStream<Uint8Array>; total: number }> {
  if (source.kind === 'file') {
    const { file } = source;
    if (file.size > PARSE_LIMITS.maxBytes) {
      throw new DataError(
        file.name,
        null,
        null,
        `file is ${formatBytes(file.size)}, larger than the ${formatBytes(PARSE_LIMITS.maxBytes)} limit`,
      );
    }
    return { name: file.name, body: file.stream() as ReadableStream<Uint8Array>, total: file.size };
  }
  return { name: source.name, ...(await openLogUrl(source.url)) };
}

self.addEventListener('unhandledrejection', (e) =>
  post({ type: 'error', message: `the import worker failed: ${errorMessage(e.reason)}` }),
);
holdLifeLock(self);

self.onmessage = async (event: MessageEvent<ImportRequest>) => {
  const { source, known, epochUnit } = event.data;
  try {
    const { name, body, total } = await open(source);
    let last = 0;
    const log = await parseLogStream(body, name, {
      epochUnit,
      onBytes: (loaded) => {
        const now = performance.now();
        if (now - last < PROGRESS_MS) return;
        last = now;
        post({ type: 'progress', loaded, total });
      },
    });
    const summary = summarizeImport(log, new Set(known));
    const packed = packLog(log);
    post({ type: 'done', log: packed, summary }, packedBuffers(packed));
  } catch (e) {
    post({ type: 'error', message: errorMessage(e) });
  }
};
