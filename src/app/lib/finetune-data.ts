/**
 * Reading the data to fine-tune on: a file the person picks or drops (CSV, or gzipped CSV), or
 * a bundled SmartThings region served by the data route. Parsing is the shared loader's
 * (parseBehaviorLog), so errors name the line and field the same way everywhere.
 */
import { parseBehaviorLog, type ParsedLog } from '../../core/data';
import { gunzipResponse, type FetchLike } from './replay-data';

export const BUNDLED_DATASETS = [
  { id: 'sp', label: 'SmartThings Spain' },
  { id: 'fr', label: 'SmartThings France' },
] as const;
export type BundledDataset = (typeof BUNDLED_DATASETS)[number]['id'];

export function bundledUrl(id: BundledDataset): string {
  return `${import.meta.env.BASE_URL}data/smartthings/${id}.csv.gz`;
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

export async function fetchBundled(id: BundledDataset, fetchImpl: FetchLike = fetch): Promise<ParsedLog> {
  const url = bundledUrl(id);
  const res = await fetchImpl(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''} (is the data folder present?)`);
  return parseBehaviorLog(await gunzipResponse(res), `${id}.csv.gz`);
}

/** The files of an export: model.json and its shards under the names the manifest gives them. */
export function exportFiles(manifestText: string, shards: readonly ArrayBuffer[]): { name: string; blob: Blob }[] {
  const manifest = JSON.parse(manifestText) as { weightsManifest: { paths: string[] }[] };
  const paths = manifest.weightsManifest.flatMap((g) => g.paths);
  if (paths.length !== shards.length) throw new Error(`model.json lists ${paths.length} shards, ${shards.length} are stored`);
  return [
    { name: 'model.json', blob: new Blob([manifestText], { type: 'application/json' }) },
    ...paths.map((name, i) => ({ name, blob: new Blob([shards[i]], { type: 'application/octet-stream' }) })),
  ];
}

/** Starts a browser download of each file (the browser may ask once to allow several). */
export function download(files: readonly { name: string; blob: Blob }[]): void {
  for (const { name, blob } of files) {
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}
