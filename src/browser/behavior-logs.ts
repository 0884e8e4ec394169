/**
 * Behavior logs in the browser: files of the data route (gzipped CSV, gunzipped with
 * DecompressionStream), the demo sequences shipped with the app, and files a person picks or
 * drops. Parsing is the shared loader's (parseBehaviorLog), so errors name the line and field the
 * same way everywhere. Web-platform APIs only (fetch, Response, DecompressionStream): no React,
 * no DOM; used by the app and the benchmark page.
 */
import { parseBehaviorLog, splitSequences, type ParsedLog } from '../core/data';
import type { BehaviorSequence } from '../core/events';
import { dataFileUrl, env } from '../env';

export type FetchLike = (url: string) => Promise<Response>;

/** Bytes of a gzip response body, decompressed in the browser. */
export async function gunzipResponse(response: Response): Promise<Uint8Array> {
  if (!response.body) throw new Error('empty response body');
  const stream = response.body.pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parses picked or dropped file bytes; gzip is recognised by its magic bytes, not the name. */
export async function parseLogBytes(bytes: Uint8Array, name: string): Promise<ParsedLog> {
  const plain = isGzip(bytes) ? await gunzipResponse(new Response(new Blob([bytes as BlobPart]))) : bytes;
  return parseBehaviorLog(plain, name);
}

export async function readLogFile(file: File): Promise<ParsedLog> {
  return parseLogBytes(new Uint8Array(await file.arrayBuffer()), file.name);
}

function httpError(url: string, res: Response): string {
  return `${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
}

/** A file of the data folder (`us.csv.gz`, `sp.csv.gz`, …) through the data route, parsed. */
export async function fetchDataFile(file: string, fetchImpl: FetchLike = fetch): Promise<ParsedLog> {
  const url = dataFileUrl(file);
  const res = await fetchImpl(url);
  if (!res.ok) throw new Error(`${httpError(url, res)} (is the data folder present?)`);
  return parseBehaviorLog(await gunzipResponse(res), file);
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

/** Sequences that can be replayed: at least one event to predict (t ≥ 1). */
export function replayable(sequences: readonly BehaviorSequence[]): BehaviorSequence[] {
  return sequences.filter((s) => s.events.length >= 2);
}

export async function loadSmartThingsTest(url: string, fetchImpl: FetchLike = fetch): Promise<BehaviorSequence[]> {
  const res = await fetchImpl(url);
  if (!res.ok) throw new Error(httpError(url, res));
  const bytes = await gunzipResponse(res);
  const log = parseBehaviorLog(bytes, 'us.csv.gz');
  const test = replayable(splitSequences(log.sequences, 'test'));
  if (test.length === 0) throw new Error(`${url}: no test sequences with at least two events`);
  return test;
}

export async function loadDemoSequences(url: string, fetchImpl: FetchLike = fetch): Promise<BehaviorSequence[]> {
  const res = await fetchImpl(url);
  if (!res.ok) throw new Error(httpError(url, res));
  const log = parseBehaviorLog(await res.text(), 'demo-sequences.csv');
  const sequences = replayable(log.sequences);
  if (sequences.length === 0) throw new Error(`${url}: no sequences with at least two events`);
  return sequences;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** SmartThings US test split first, demo sequences otherwise (with the reason recorded). */
export async function loadReplayData(
  urls: { smartThings: string; demo: string } = env.replayUrls,
  fetchImpl: FetchLike = fetch,
): Promise<ReplayData> {
  try {
    const sequences = await loadSmartThingsTest(urls.smartThings, fetchImpl);
    return {
      source: { kind: 'smartthings', label: 'SmartThings US, test split', url: urls.smartThings },
      sequences,
    };
  } catch (e) {
    const fallbackReason = message(e);
    let sequences: BehaviorSequence[];
    try {
      sequences = await loadDemoSequences(urls.demo, fetchImpl);
    } catch (demoError) {
      throw new Error(`SmartThings data: ${fallbackReason}; demo sequences: ${message(demoError)}`);
    }
    return {
      source: { kind: 'demo', label: 'Demo sequences', url: urls.demo, fallbackReason },
      sequences,
    };
  }
}
