/**
 * Behavior logs in the browser: files of the data route (gzipped CSV, gunzipped with
 * DecompressionStream), the demo sequences shipped with the app, and files a person picks or
 * drops, read as a stream (parseLogStream; the import worker runs it). Parsing is the shared
 * loader's (LogParser), so errors name the line and field the same way everywhere. Web-platform
 * APIs only (fetch, Response, streams, DecompressionStream): no React, no DOM; used by the app,
 * its workers and the benchmark page.
 */
import { DataError, LogParser, parseBehaviorLog, replayable, type ParseOptions, type ParsedLog } from '../core/data';
import type { BehaviorSequence } from '../core/events';
import { errorMessage } from '../core/errors';
import { packLog, sequenceRefs, unpackSequences, type PackedLog } from '../core/packed-log';
import { env } from '../env';

export type FetchLike = (url: string) => Promise<Response>;

/** Bytes of a gzip response body, decompressed in the browser; `name` names the file in errors. */
export async function gunzipResponse(response: Response, name = response.url): Promise<Uint8Array> {
  if (!response.body) throw new Error(`${name}: empty response body`);
  const stream = response.body.pipeThrough(new DecompressionStream('gzip'));
  try {
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new DataError(name, null, null, `not a valid gzip file: it could not be decompressed (${errorMessage(e)})`);
  }
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export interface StreamParseOptions extends ParseOptions {
  /** Bytes of the stream read so far (as stored: compressed for gzip), as they are read. */
  onBytes?: (bytesRead: number) => void;
}

/**
 * Parses a log from a stream of its bytes, chunk by chunk as they arrive (a picked file's
 * stream(), a response body); gzip is recognised by its magic bytes, not the name, and a broken
 * gzip file is refused with its name. Throws DataError.
 */
export async function parseLogStream(
  body: ReadableStream<Uint8Array>,
  name: string,
  options: StreamParseOptions = {},
): Promise<ParsedLog> {
  const { onBytes = () => {} } = options;
  const raw = body.getReader();
  // The first two bytes tell gzip (they may come in separate chunks).
  let head: Uint8Array = new Uint8Array(0);
  let ended = false;
  while (head.length < 2 && !ended) {
    const { done, value } = await raw.read();
    ended = done;
    if (value) head = concat(head, value);
  }
  let read = head.length;
  onBytes(read);
  // The stream again from its first bytes, counting what is read.
  const counted = new ReadableStream<Uint8Array>({
    start(controller) {
      if (head.length > 0) controller.enqueue(head);
      if (ended) controller.close();
    },
    async pull(controller) {
      const { done, value } = await raw.read();
      if (done) return controller.close();
      read += value.length;
      onBytes(read);
      controller.enqueue(value);
    },
    cancel: (reason) => raw.cancel(reason),
  });
  const gzip = isGzip(head);
  const bytes = gzip
    ? counted.pipeThrough(new DecompressionStream('gzip') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>)
    : counted;
  const reader = bytes.getReader();
  const parser = new LogParser(name, options);
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (gzip)
          throw new DataError(
            name,
            null,
            null,
            `not a valid gzip file: it could not be decompressed (${errorMessage(e)})`,
          );
        throw new DataError(name, null, null, `the file could not be read (${errorMessage(e)})`);
      }
      if (chunk.done) break;
      parser.pushBytes(chunk.value);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  }
  return parser.finish();
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Parses picked or dropped file bytes already in memory (see parseLogStream). */
export function parseLogBytes(bytes: Uint8Array, name: string, options: StreamParseOptions = {}): Promise<ParsedLog> {
  return parseLogStream(new Blob([bytes as BlobPart]).stream(), name, options);
}

function httpError(url: string, res: Response): string {
  return `${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
}

/** A log served at `url` (a data-route file such as dataFileUrl('sp.csv.gz')) as a stream, with its size when known. */
export async function openLogUrl(
  url: string,
  fetchImpl: FetchLike = fetch,
): Promise<{ body: ReadableStream<Uint8Array>; total: number }> {
  const res = await fetchImpl(url);
  if (!res.ok || !res.body) throw new Error(`${httpError(url, res)} (is the data folder present?)`);
  return { body: res.body, total: Number(res.headers.get('content-length')) || 0 };
}

// ---------------------------------------------------------------------------------------------
// Replay's sequences

export interface ReplaySource {
  kind: 'smartthings' | 'demo';
  /** Human-readable description of the data. */
  label: string;
  url: string;
  /** Why the SmartThings file was not used (demo only). */
  fallbackReason?: string;
}

export interface ReplayData {
  source: ReplaySource;
  sequences: BehaviorSequence[];
}

/** Reads the log served at `url` into its packed form: in this thread (readPackedInThread), or in the app through the import worker. */
export type PackedReader = (url: string, name: string) => Promise<PackedLog>;

export function readPackedInThread(fetchImpl: FetchLike = fetch): PackedReader {
  return async (url, name) => {
    const res = await fetchImpl(url);
    if (!res.ok || !res.body) throw new Error(httpError(url, res));
    return packLog(await parseLogStream(res.body, name));
  };
}

/** The test split's sequences that have something to predict; only they are unpacked into objects. */
export async function loadSmartThingsTest(
  url: string,
  read: PackedReader = readPackedInThread(),
): Promise<BehaviorSequence[]> {
  const log = await read(url, 'us.csv.gz');
  const test = sequenceRefs(log).filter((r) => r.split === 'test' && r.events.length >= 2);
  if (test.length === 0) throw new Error(`${url}: no test sequences with at least two events`);
  return unpackSequences(log, test);
}

export async function loadDemoSequences(url: string, fetchImpl: FetchLike = fetch): Promise<BehaviorSequence[]> {
  const res = await fetchImpl(url);
  if (!res.ok) throw new Error(httpError(url, res));
  const log = parseBehaviorLog(await res.text(), 'demo-sequences.csv');
  const sequences = replayable(log.sequences);
  if (sequences.length === 0) throw new Error(`${url}: no sequences with at least two events`);
  return sequences;
}

/** Why Replay shows the demo sequences while the device is offline. */
export const OFFLINE_REASON =
  'you are offline, and the SmartThings data is only served online (third-party data, never stored on this device)';

/**
 * SmartThings US test split first, demo sequences otherwise (with the reason recorded: being
 * offline is named as such, whatever error the failed request gave). The app
 * reads the SmartThings file through the import worker (`read`), so parsing it never blocks the page.
 */
export async function loadReplayData(
  urls: { smartThings: string; demo: string } = env.replayUrls,
  fetchImpl: FetchLike = fetch,
  read: PackedReader = readPackedInThread(fetchImpl),
): Promise<ReplayData> {
  try {
    const sequences = await loadSmartThingsTest(urls.smartThings, read);
    return {
      source: { kind: 'smartthings', label: 'SmartThings US, test split', url: urls.smartThings },
      sequences,
    };
  } catch (e) {
    const fallbackReason = globalThis.navigator?.onLine === false ? OFFLINE_REASON : errorMessage(e);
    let sequences: BehaviorSequence[];
    try {
      sequences = await loadDemoSequences(urls.demo, fetchImpl);
    } catch (demoError) {
      throw new Error(`SmartThings data: ${fallbackReason}; demo sequences: ${errorMessage(demoError)}`);
    }
    return {
      source: { kind: 'demo', label: 'Demo sequences', url: urls.demo, fallbackReason },
      sequences,
    };
  }
}
