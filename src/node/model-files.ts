/** Reading and writing model folders (model.json + shards) on disk. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SHIPPED_MODEL_DIR } from './config';
import { checkShardHashes, checkShardSizes, modelFromArtifacts, serializeModel, validateManifest, type LoadedModel, type SerializeOptions } from '../model/weights';

export async function saveModelDir(
  dir: string,
  loaded: Omit<LoadedModel, 'manifest'> & { name: string; training: Record<string, unknown> },
  options: SerializeOptions = {},
): Promise<{ manifestPath: string; bytes: number }> {
  mkdirSync(dir, { recursive: true });
  // Shards of an earlier export would be left behind with other names: remove them.
  for (const f of readdirSync(dir)) if (f === 'model.json' || /^weights-shard\d+of\d+\.bin$/.test(f)) rmSync(join(dir, f));
  const { manifest, shards } = await serializeModel(loaded, options);
  const paths = manifest.weightsManifest[0].paths;
  shards.forEach((s, i) => writeFileSync(join(dir, paths[i]), s));
  const manifestPath = join(dir, 'model.json');
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 1) + '\n');
  return { manifestPath, bytes: shards.reduce((s, b) => s + b.length, 0) };
}

export function loadModelDir(manifestPath: string): LoadedModel {
  const path = manifestPath.endsWith('.json') ? manifestPath : join(manifestPath, 'model.json');
  const manifest = validateManifest(JSON.parse(readFileSync(path, 'utf8')), path);
  const shards = manifest.weightsManifest.flatMap((g) =>
    g.paths.map((p) => {
      const b = readFileSync(join(dirname(path), p));
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    }),
  );
  // The same checks as the browser's, before the model is built: sizes, SHA-256, then values.
  checkShardSizes(manifest, shards);
  checkShardHashes(manifest, shards.map((b) => createHash('sha256').update(new Uint8Array(b)).digest('hex')));
  return modelFromArtifacts(manifest, shards, path);
}

/** The shipped model's manifest path, name and the run it was trained by (training.run); null when there is no such file. */
export function shippedModelInfo(dir = SHIPPED_MODEL_DIR): { path: string; name: string; run?: string } | null {
  const path = join(dir, 'model.json');
  if (!existsSync(path)) return null;
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as { name: string; training?: { run?: string } };
  return { path, name: manifest.name, run: manifest.training?.run };
}
