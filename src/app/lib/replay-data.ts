/**
 * Where Replay's sequences come from: the SmartThings US test split, served read-only by the
 * dev/preview server, or — when that is not there — the demo sequences shipped with the app.
 */
import { parseBehaviorLog, splitSequences } from '../../core/data';
import type { BehaviorSequence } from '../../core/events';

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

export type FetchLike = (url: string) => Promise<Response>;

/** Bytes of a gzip response body, decompressed in the browser. */
export async function gunzipResponse(response: Response): Promise<Uint8Array> {
  if (!response.body) throw new Error('empty response body');
  const stream = response.body.pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Sequences that can be replayed: at least one event to predict (t ≥ 1). */
export function replayable(sequences: readonly BehaviorSequence[]): BehaviorSequence[] {
  return sequences.filter((s) => s.events.length >= 2);
}

export async function loadSmartThingsTest(url: string, fetchImpl: FetchLike = fetch): Promise<BehaviorSequence[]> {
  const res = await fetchImpl(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
  const bytes = await gunzipResponse(res);
  const log = parseBehaviorLog(bytes, 'us.csv.gz');
  const test = replayable(splitSequences(log.sequences, 'test'));
  if (test.length === 0) throw new Error(`${url}: no test sequences with at least two events`);
  return test;
}

export async function loadDemoSequences(url: string, fetchImpl: FetchLike = fetch): Promise<BehaviorSequence[]> {
  const res = await fetchImpl(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
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
  urls: { smartThings: string; demo: string },
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
