/**
 * Fine-tune's data sets and exports: the SmartThings regions offered for import (read through the
 * data route by the import worker), and an adapted model's files as browser downloads.
 */

export const BUNDLED_DATASETS = [
  { id: 'sp', label: 'SmartThings Spain' },
  { id: 'fr', label: 'SmartThings France' },
] as const;
export type BundledDataset = (typeof BUNDLED_DATASETS)[number]['id'];

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
