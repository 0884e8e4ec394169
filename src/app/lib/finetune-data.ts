/**
 * Fine-tune's data sets and exports: the SmartThings regions offered for import (read through the
 * data route by the import worker), and an adapted model's files as browser downloads.
 */

export const BUNDLED_DATASETS = [
  { id: 'sp', label: 'SmartThings Spain' },
  { id: 'fr', label: 'SmartThings France' },
] as const;
export type BundledDataset = (typeof BUNDLED_DATASETS)[number]['id'];

/**
 * The files of an export, named for the model: `<stem>.json` and `<stem>-shardIofN.bin`, with the
 * manifest's paths rewritten to those shard names (sizes and hashes are per path, in order, so
 * they stay valid). Two models exported to one folder never share a file name, and each manifest
 * names its own shards.
 */
export function exportFiles(
  stem: string,
  manifestText: string,
  shards: readonly ArrayBuffer[],
): { name: string; blob: Blob }[] {
  const manifest = JSON.parse(manifestText) as { weightsManifest: { paths: string[] }[] };
  const count = manifest.weightsManifest.reduce((n, g) => n + g.paths.length, 0);
  if (count !== shards.length) throw new Error(`the manifest lists ${count} shards, ${shards.length} are stored`);
  let i = 0;
  const renamed = {
    ...manifest,
    weightsManifest: manifest.weightsManifest.map((g) => ({
      ...g,
      paths: g.paths.map(() => `${stem}-shard${++i}of${count}.bin`),
    })),
  };
  const paths = renamed.weightsManifest.flatMap((g) => g.paths);
  return [
    { name: `${stem}.json`, blob: new Blob([JSON.stringify(renamed)], { type: 'application/json' }) },
    ...paths.map((name, k) => ({ name, blob: new Blob([shards[k]], { type: 'application/octet-stream' }) })),
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
