/** Reading and writing model folders (model.json + shards) on disk. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SHIPPED_MODEL_DIR } from './config';
import type { BackendName } from '../model/pipeline-types';
import { Predictor } from '../model/predictor';
import {
  checkShardHashes,
  checkShardSizes,
  modelFromArtifacts,
  serializeModel,
  shardPaths,
  validateManifest,
  type LoadedModel,
  type ModelManifest,
  type SerializeOptions,
} from '../model/weights';

export async function saveModelDir(
  dir: string,
  loaded: Omit<LoadedModel, 'manifest'> & { name: string; training: Record<string, unknown> },
  options: SerializeOptions = {},
): Promise<{ manifestPath: string; bytes: number }> {
  mkdirSync(dir, { recursive: true });
  // Shards of an earlier export would be left behind with other names: remove them.
  for (const f of readdirSync(dir))
    if (f === 'model.json' || /^weights-shard\d+of\d+\.bin$/.test(f)) rmSync(join(dir, f));
  const { manifest, shards } = await serializeModel(loaded, options);
  const paths = manifest.weightsManifest[0].paths;
  for (const [i, s] of shards.entries()) writeFileSync(join(dir, paths[i]), s);
  const manifestPath = join(dir, 'model.json');
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 1)}\n`);
  return { manifestPath, bytes: shards.reduce((s, b) => s + b.length, 0) };
}

/**
 * The manifest a path names: a `.json` file itself, or in a folder its `model.json`, else the
 * folder's one `.json` file (an app export: `<stem>.json` beside its shards). Throws when a
 * folder holds none or several.
 */
export function resolveManifestPath(path: string): string {
  if (path.endsWith('.json')) return path;
  if (!existsSync(path)) throw new Error(`${path}: no such file or folder`);
  if (!statSync(path).isDirectory()) throw new Error(`${path}: not a model folder or a .json manifest`);
  if (existsSync(join(path, 'model.json'))) return join(path, 'model.json');
  const manifests = readdirSync(path).filter((f) => f.endsWith('.json'));
  if (manifests.length === 1) return join(path, manifests[0]);
  throw new Error(
    manifests.length === 0
      ? `${path}: no model.json (or other .json manifest) in this folder`
      : `${path}: ${manifests.length} manifests (${manifests.join(', ')}); name one of them`,
  );
}

/** A model's files as stored (manifest text, shards in manifest order), checked as the browser checks them: manifest, sizes, SHA-256. */
export function readModelFiles(path: string): {
  manifestPath: string;
  manifest: ModelManifest;
  manifestText: string;
  shards: ArrayBuffer[];
} {
  const manifestPath = resolveManifestPath(path);
  const manifestText = readFileSync(manifestPath, 'utf8');
  const manifest = validateManifest(JSON.parse(manifestText), manifestPath);
  const shards = manifest.weightsManifest.flatMap((g) =>
    g.paths.map((p) => {
      const b = readFileSync(join(dirname(manifestPath), p));
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    }),
  );
  checkShardSizes(manifest, shards);
  checkShardHashes(
    manifest,
    shards.map((b) => createHash('sha256').update(new Uint8Array(b)).digest('hex')),
  );
  return { manifestPath, manifest, manifestText, shards };
}

/** Loads a model folder (or manifest): the same checks as the browser's, before the model is built: sizes, SHA-256, then values. */
export function loadModelDir(path: string): LoadedModel {
  const { manifestPath, manifest, shards } = readModelFiles(path);
  return modelFromArtifacts(manifest, shards, manifestPath);
}

/** A Predictor of a model folder (or manifest) on a Node backend that is already started (node/tf.ts). */
export function loadPredictorDir(path: string, backend: BackendName): Predictor {
  const files = readModelFiles(path);
  return new Predictor(
    modelFromArtifacts(files.manifest, files.shards, files.manifestPath),
    { name: backend, reason: 'Node', measuredMs: {} },
    files,
  );
}

/** Writes model files as they are (manifest text and shards under the manifest's paths) into `dir`. */
export function writeModelFiles(dir: string, files: { manifestText: string; shards: readonly ArrayBuffer[] }): string {
  mkdirSync(dir, { recursive: true });
  const manifest = JSON.parse(files.manifestText) as ModelManifest;
  for (const [i, p] of shardPaths(manifest).entries()) writeFileSync(join(dir, p), new Uint8Array(files.shards[i]));
  const manifestPath = join(dir, 'model.json');
  writeFileSync(manifestPath, files.manifestText);
  return manifestPath;
}

/** The shipped model's manifest path, name and the run it was trained by (training.run); null when there is no such file. */
export function shippedModelInfo(dir = SHIPPED_MODEL_DIR): { path: string; name: string; run?: string } | null {
  const path = join(dir, 'model.json');
  if (!existsSync(path)) return null;
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as { name: string; training?: { run?: string } };
  return { path, name: manifest.name, run: manifest.training?.run };
}
