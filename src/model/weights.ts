/**
 * The model file format: a JSON manifest in the TensorFlow.js weights-manifest convention
 * (`weightsManifest: [{paths, weights: [{name, shape, dtype, quantization?}]}]`) plus binary
 * shards, with BehaveGPT's config, vocabularies and training metadata inside the manifest.
 * Weights are stored as 8-bit affine quantized (default) or float32.
 *
 * Matrices are quantized row by row (one min/scale per row: per-tensor 8-bit flipped 2% of
 * top-1 predictions on valid, per-row 0.2%). In manifest terms a matrix `W` is three entries:
 * `W` holds the uint8 codes (quantization scale 1, min 0), `W:rowMin` and `W:rowScale` are
 * float32 vectors, and W[r] = codes[r] × rowScale[r] + rowMin[r]. Vectors use the standard
 * per-tensor affine quantization.
 *
 * Integrity: each manifest group lists, beside its `paths`, the `byteLengths` and `sha256`
 * (lowercase hex) of its shards, written by every writer (serializeModel here, the PyTorch
 * exporter). Loading checks the manifest in full (validateManifest: fields, shapes, dtypes,
 * relative shard paths), the shards against it (verifyShards: sizes, then hashes) and the values
 * (no NaN or infinity) before a model is built, and fails with a typed error (errors.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { quantizeUint8, type AffineQuantization } from '../core/quantize';
import { Vocabulary, type VocabularyJSON } from '../core/vocab';
import { BehaveGPT, modelWidth, parameterSpecs, type BehaveGPTConfig } from './behavegpt';
import { ModelFormatError, ModelIntegrityError } from './errors';

export const FORMAT = 'behavegpt-weights';
export const FORMAT_VERSION = 1;

export type WeightDtype = 'uint8' | 'float32';

/** Suffixes of the per-row dequantization entries of a row-quantized matrix. */
export const ROW_MIN = ':rowMin';
export const ROW_SCALE = ':rowScale';

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: AffineQuantization;
}

export interface ModelManifest {
  format: typeof FORMAT;
  formatVersion: number;
  name: string;
  config: BehaveGPTConfig;
  vocabulary: { behaviors: VocabularyJSON; locations: VocabularyJSON };
  /** Free-form: data, seed, steps, valid metrics, timings. */
  training: Record<string, unknown>;
  weightsManifest: WeightGroup[];
}

/** Shards and the weights they hold, in order; sizes and hashes per shard (absent in files written before them). */
export interface WeightGroup {
  paths: string[];
  weights: WeightEntry[];
  byteLengths?: number[];
  sha256?: string[];
}

/** The largest model a manifest may describe: far above any trained size, far below what would exhaust a tab. */
export const MAX_WEIGHT_BYTES = 512 * 1024 * 1024;

/** A model with its vocabularies: what a weight file holds. */
export interface LoadedModel {
  model: BehaveGPT;
  behaviors: Vocabulary;
  locations: Vocabulary;
  manifest: ModelManifest;
}

export interface SerializeOptions {
  dtype?: WeightDtype;
  /** Split the weights into shards of at most this many bytes (tfjs uses 4 MiB). */
  shardBytes?: number;
  /** Shard file name prefix. */
  prefix?: string;
}

export async function serializeModel(
  loaded: Omit<LoadedModel, 'manifest'> & { name: string; training: Record<string, unknown> },
  options: SerializeOptions = {},
): Promise<{ manifest: ModelManifest; shards: Uint8Array[] }> {
  const { dtype = 'uint8', shardBytes = 4 * 1024 * 1024, prefix = 'weights' } = options;
  const entries: WeightEntry[] = [];
  const chunks: Uint8Array[] = [];
  for (const name of parameterSpecs(loaded.model.config).keys()) {
    const v = loaded.model.params.get(name)!;
    const values = (await v.data()) as Float32Array;
    if (dtype === 'uint8' && v.shape.length === 2) {
      const [rows, cols] = v.shape;
      const codes = new Uint8Array(values.length);
      const rowMin = new Float32Array(rows);
      const rowScale = new Float32Array(rows);
      for (let r = 0; r < rows; r++) {
        const { bytes, quantization } = quantizeUint8(values.subarray(r * cols, (r + 1) * cols));
        codes.set(bytes, r * cols);
        rowMin[r] = quantization.min;
        rowScale[r] = quantization.scale;
      }
      entries.push({ name, shape: v.shape, dtype: 'float32', quantization: { dtype: 'uint8', min: 0, scale: 1 } });
      entries.push({ name: name + ROW_MIN, shape: [rows], dtype: 'float32' });
      entries.push({ name: name + ROW_SCALE, shape: [rows], dtype: 'float32' });
      chunks.push(codes, new Uint8Array(rowMin.buffer), new Uint8Array(rowScale.buffer));
    } else if (dtype === 'uint8') {
      const { bytes, quantization } = quantizeUint8(values);
      entries.push({ name, shape: v.shape, dtype: 'float32', quantization });
      chunks.push(bytes);
    } else {
      entries.push({ name, shape: v.shape, dtype: 'float32' });
      chunks.push(new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)));
    }
  }
  const total = chunks.reduce((s, c) => s + c.length, 0);
  const all = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.length;
  }
  const shards: Uint8Array[] = [];
  for (let i = 0; i < total || shards.length === 0; i += shardBytes) shards.push(all.slice(i, i + shardBytes));
  const paths = shards.map((_, i) => `${prefix}-shard${i + 1}of${shards.length}.bin`);
  const manifest: ModelManifest = {
    format: FORMAT,
    formatVersion: FORMAT_VERSION,
    name: loaded.name,
    config: loaded.model.config,
    vocabulary: { behaviors: loaded.behaviors.toJSON(), locations: loaded.locations.toJSON() },
    training: loaded.training,
    weightsManifest: [
      { paths, weights: entries, byteLengths: shards.map((b) => b.byteLength), sha256: await shardDigests(shards) },
    ],
  };
  return { manifest, shards };
}

/** SHA-256 of each shard, lowercase hex (Web Crypto: browsers in secure contexts, workers, Node). */
export async function shardDigests(shards: readonly (ArrayBuffer | Uint8Array)[]): Promise<string[]> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle)
    throw new Error(
      'SHA-256 needs Web Crypto (crypto.subtle), which this context does not have (an insecure http: page?)',
    );
  return Promise.all(
    shards.map(async (b) => {
      const hash = await subtle.digest('SHA-256', b as BufferSource);
      return Array.from(new Uint8Array(hash), (x) => x.toString(16).padStart(2, '0')).join('');
    }),
  );
}

/** Shard paths in manifest order (the order shards are passed around in). */
export function shardPaths(manifest: ModelManifest): string[] {
  return manifest.weightsManifest.flatMap((g) => g.paths);
}

/**
 * Checks shards against their manifest before anything uses or stores them: count and byte
 * length of each (or their total, for files without byteLengths), then their SHA-256 where the
 * manifest lists it. `hashes` may be given (Node computes them with node:crypto); otherwise Web
 * Crypto computes them, and where it is missing only the sizes are checked. Throws
 * ModelIntegrityError naming the shard.
 */
export async function verifyShards(
  manifest: ModelManifest,
  shards: readonly ArrayBuffer[],
  hashes?: readonly string[],
): Promise<{ hashed: boolean }> {
  checkShardSizes(manifest, shards);
  if (!manifest.weightsManifest.some((g) => g.sha256)) return { hashed: false };
  if (!hashes && !globalThis.crypto?.subtle) return { hashed: false };
  checkShardHashes(manifest, hashes ?? (await shardDigests(shards)));
  return { hashed: true };
}

/** Compares shard hashes (in manifest path order) with those the manifest lists. */
export function checkShardHashes(manifest: ModelManifest, hashes: readonly string[]): void {
  const paths = shardPaths(manifest);
  manifest.weightsManifest
    .flatMap((g) => g.sha256 ?? g.paths.map(() => null))
    .forEach((want, i) => {
      if (want !== null && want !== hashes[i]) {
        throw new ModelIntegrityError(paths[i], hashMismatch(hashes[i], want));
      }
    });
}

/**
 * Checks one shard (its index in manifest path order) as it arrives: its byte length, then its
 * SHA-256 where the manifest lists one and Web Crypto exists. Throws ModelIntegrityError.
 */
export async function verifyShard(manifest: ModelManifest, index: number, shard: ArrayBuffer): Promise<void> {
  const path = shardPaths(manifest)[index];
  const want = manifest.weightsManifest.flatMap((g) => g.byteLengths ?? g.paths.map(() => null))[index];
  if (want !== null && shard.byteLength !== want) {
    throw new ModelIntegrityError(
      path,
      `${shard.byteLength} bytes, the manifest says ${want} (a truncated or different file)`,
    );
  }
  const hash = manifest.weightsManifest.flatMap((g) => g.sha256 ?? g.paths.map(() => null))[index];
  if (hash === null || !globalThis.crypto?.subtle) return;
  const [got] = await shardDigests([shard]);
  if (got !== hash) throw new ModelIntegrityError(path, hashMismatch(got, hash));
}

function hashMismatch(got: string, want: string): string {
  return `SHA-256 ${got.slice(0, 12)}… does not match the manifest's ${want.slice(0, 12)}… (a corrupted or different file)`;
}

/** The synchronous part of verifyShards: shard count and sizes. */
export function checkShardSizes(manifest: ModelManifest, shards: readonly ArrayBuffer[]): void {
  const paths = shardPaths(manifest);
  if (shards.length !== paths.length)
    throw new ModelIntegrityError(paths.join(', '), `${shards.length} shards for the manifest's ${paths.length}`);
  const sizes = manifest.weightsManifest.flatMap((g) => g.byteLengths ?? g.paths.map(() => null));
  sizes.forEach((want, i) => {
    if (want !== null && shards[i].byteLength !== want) {
      throw new ModelIntegrityError(
        paths[i],
        `${shards[i].byteLength} bytes, the manifest says ${want} (a truncated or different file)`,
      );
    }
  });
  const total = shards.reduce((n, b) => n + b.byteLength, 0);
  const expected = weightBytes(manifest);
  if (total !== expected)
    throw new ModelIntegrityError(
      paths.join(', '),
      `the shards hold ${total} bytes, the manifest describes ${expected}`,
    );
}

/**
 * Checks a parsed model.json completely before any shard is fetched or any tensor allocated:
 * fields and their types, sizes within MAX_WEIGHT_BYTES, vocabularies, every weight's name,
 * shape and dtype against the config, and shard paths relative to the manifest (same origin).
 * Throws ModelFormatError naming the file and the field.
 */
export function validateManifest(json: unknown, file = 'model.json'): ModelManifest {
  const fail = (field: string, problem: string): never => {
    throw new ModelFormatError(file, field, problem);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('(root)', 'not a JSON object');
  const m = json as Partial<ModelManifest>;
  if (m.format !== FORMAT) fail('format', `expected "${FORMAT}", got ${JSON.stringify(m.format)}`);
  if (m.formatVersion !== FORMAT_VERSION)
    fail('formatVersion', `expected ${FORMAT_VERSION}, got ${JSON.stringify(m.formatVersion)}`);
  if (typeof m.name !== 'string') fail('name', 'missing');
  if (!m.config || typeof m.config !== 'object') fail('config', 'missing');
  if (m.training !== undefined && (typeof m.training !== 'object' || m.training === null))
    fail('training', 'not an object');
  const config = m.config!;
  const count = (key: keyof BehaveGPTConfig, min: number) => {
    const v = config[key];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= min && v <= 1e7))
      fail(`config.${key}`, `expected an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  };
  for (const key of [
    'numBehaviors',
    'numLocations',
    'contextLength',
    'behaviorDim',
    'numLayers',
    'numHeads',
    'mlpRatio',
    'headHidden',
  ] as const)
    count(key, 1);
  for (const key of ['weekdayDim', 'slotDim', 'locationDim', 'targetDim'] as const) count(key, 0);
  if (config.timeHidden !== undefined) count('timeHidden', 1);
  if (typeof config.useContext !== 'boolean') fail('config.useContext', 'expected true or false');
  if (config.timeHead !== undefined && typeof config.timeHead !== 'boolean')
    fail('config.timeHead', 'expected true or false');
  if (!(typeof config.dropout === 'number' && config.dropout >= 0 && config.dropout < 1))
    fail('config.dropout', `expected a number in [0, 1), got ${JSON.stringify(config.dropout)}`);
  if (modelWidth(config) % config.numHeads !== 0)
    fail('config.numHeads', `${config.numHeads} heads do not divide the model width ${modelWidth(config)}`);
  if (
    !Array.isArray(config.specialBehaviorIds) ||
    config.specialBehaviorIds.some((id) => !Number.isInteger(id) || id < 0 || id >= config.numBehaviors)
  ) {
    fail('config.specialBehaviorIds', 'expected behavior ids within the vocabulary');
  }
  const vocabulary = (key: 'behaviors' | 'locations', size: number) => {
    const v = m.vocabulary?.[key];
    if (!v || !Array.isArray(v.tokens) || v.tokens.some((t) => typeof t !== 'string'))
      fail(`vocabulary.${key}.tokens`, 'missing, or not a list of names');
    if (v!.tokens.length !== size)
      fail(
        `config.num${key === 'behaviors' ? 'Behaviors' : 'Locations'}`,
        `${size} but the vocabulary has ${v!.tokens.length} ${key}`,
      );
    if (new Set(v!.tokens).size !== v!.tokens.length) fail(`vocabulary.${key}.tokens`, 'a name appears twice');
    if (
      v!.counts !== undefined &&
      (!Array.isArray(v!.counts) || v!.counts.length !== v!.tokens.length || v!.counts.some((c) => !Number.isFinite(c)))
    ) {
      fail(`vocabulary.${key}.counts`, 'expected one count per token');
    }
  };
  vocabulary('behaviors', config.numBehaviors);
  vocabulary('locations', config.numLocations);

  if (!Array.isArray(m.weightsManifest) || m.weightsManifest.length === 0) fail('weightsManifest', 'missing or empty');
  const entries = new Map<string, WeightEntry>();
  m.weightsManifest!.forEach((g, gi) => {
    const at = `weightsManifest[${gi}]`;
    if (!g || !Array.isArray(g.paths) || g.paths.length === 0 || !Array.isArray(g.weights))
      fail(at, 'expected { paths, weights }');
    g.paths.forEach((p, pi) => {
      if (!isRelativePath(p))
        fail(
          `${at}.paths[${pi}]`,
          `${JSON.stringify(p)} is not a path relative to the manifest (shards must come from beside it)`,
        );
    });
    if (
      g.byteLengths !== undefined &&
      (!Array.isArray(g.byteLengths) ||
        g.byteLengths.length !== g.paths.length ||
        g.byteLengths.some((n) => !Number.isInteger(n) || n < 0))
    ) {
      fail(`${at}.byteLengths`, 'expected one byte length per path');
    }
    if (
      g.sha256 !== undefined &&
      (!Array.isArray(g.sha256) ||
        g.sha256.length !== g.paths.length ||
        g.sha256.some((h) => typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h)))
    ) {
      fail(`${at}.sha256`, 'expected one lowercase hex SHA-256 per path');
    }
    for (const w of g.weights) {
      if (!w || typeof w.name !== 'string') fail(`${at}.weights`, 'an entry has no name');
      const field = `weight "${w.name}"`;
      if (entries.has(w.name)) fail(field, 'appears twice');
      if (!Array.isArray(w.shape) || w.shape.some((d) => !Number.isInteger(d) || d < 0))
        fail(field, `shape ${JSON.stringify(w.shape)} is not a list of sizes`);
      if (w.dtype !== 'float32')
        fail(
          field,
          `dtype ${JSON.stringify(w.dtype)}: this format stores float32 values (optionally quantized to uint8)`,
        );
      const q = w.quantization;
      if (
        q !== undefined &&
        !(q && q.dtype === 'uint8' && Number.isFinite(q.min) && Number.isFinite(q.scale) && q.scale >= 0)
      ) {
        fail(field, `quantization ${JSON.stringify(q)}: expected { dtype: "uint8", min, scale } with finite numbers`);
      }
      entries.set(w.name, w);
    }
  });
  const specs = parameterSpecs(config);
  for (const [name, spec] of specs) {
    const w = entries.get(name);
    if (!w) fail('weightsManifest', `no weight "${name}"`);
    if (w!.shape.join(',') !== spec.shape.join(','))
      fail(`weight "${name}"`, `shape [${w!.shape}], the config needs [${spec.shape}]`);
  }
  for (const [name, w] of entries) {
    if (specs.has(name)) continue;
    const base = name.endsWith(ROW_MIN)
      ? name.slice(0, -ROW_MIN.length)
      : name.endsWith(ROW_SCALE)
        ? name.slice(0, -ROW_SCALE.length)
        : null;
    const matrix = base === null ? undefined : specs.get(base);
    if (!matrix) fail(`weight "${name}"`, 'is not a parameter of this config');
    if (matrix!.shape.length !== 2 || w.shape.join(',') !== String(matrix!.shape[0]))
      fail(`weight "${name}"`, `shape [${w.shape}], expected [${matrix!.shape[0]}]`);
  }
  const manifest = m as ModelManifest;
  const bytes = weightBytes(manifest);
  if (bytes > MAX_WEIGHT_BYTES)
    fail('weightsManifest', `describes ${bytes} bytes of weights, more than the ${MAX_WEIGHT_BYTES}-byte limit`);
  for (const [gi, g] of manifest.weightsManifest.entries()) {
    const groupBytes = weightBytes({ ...manifest, weightsManifest: [g] });
    if (g.byteLengths && g.byteLengths.reduce((a, b) => a + b, 0) !== groupBytes) {
      fail(
        `weightsManifest[${gi}].byteLengths`,
        `add up to ${g.byteLengths.reduce((a, b) => a + b, 0)} bytes, its weights need ${groupBytes}`,
      );
    }
  }
  return manifest;
}

/** model.json's text, parsed and checked (validateManifest); not JSON is a ModelFormatError too. */
export function parseManifest(text: string, file = 'model.json'): ModelManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(file, null, `not valid JSON (${(e as Error).message})`);
  }
  return validateManifest(json, file);
}

/** A path that resolves beside the manifest: no scheme, no leading slash, no "..", no query. */
function isRelativePath(p: unknown): boolean {
  return (
    typeof p === 'string' &&
    /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/.test(p) &&
    !p.split('/').includes('..')
  );
}

/** Total bytes the manifest's weights occupy in the shards. */
export function weightBytes(manifest: ModelManifest): number {
  let n = 0;
  for (const g of manifest.weightsManifest) {
    for (const w of g.weights) n += w.shape.reduce((a, b) => a * b, 1) * (w.quantization ? 1 : 4);
  }
  return n;
}

/** The shards as one buffer, after the checks a model is built on: sizes, then finite values. */
function checkedWeights(
  manifest: ModelManifest,
  shards: readonly ArrayBuffer[],
  file: string,
): Uint8Array<ArrayBuffer> {
  checkShardSizes(manifest, shards);
  const total = shards.reduce((s, b) => s + b.byteLength, 0);
  const buffer = new Uint8Array(total);
  let offset = 0;
  for (const s of shards) {
    buffer.set(new Uint8Array(s), offset);
    offset += s.byteLength;
  }
  checkFinite(
    buffer,
    manifest.weightsManifest.flatMap((g) => g.weights),
    file,
  );
  return buffer;
}

/**
 * What modelFromArtifacts refuses, without building anything (no tfjs): shard sizes and NaN or
 * infinite values. A loader runs it before it keeps files, e.g. in a cache.
 */
export function checkWeightValues(manifest: ModelManifest, shards: readonly ArrayBuffer[], file = 'model.json'): void {
  checkedWeights(manifest, shards, file);
}

/** Builds the model from a manifest and its shards (in manifest path order). */
export function modelFromArtifacts(manifest: ModelManifest, shards: ArrayBuffer[], file = 'model.json'): LoadedModel {
  const buffer = checkedWeights(manifest, shards, file);
  const specs = manifest.weightsManifest.flatMap((g) => g.weights);
  const tensors = tf.io.decodeWeights(buffer.buffer, specs as tf.io.WeightsManifestEntry[]);
  for (const name of Object.keys(tensors)) {
    const rowScale = tensors[name + ROW_SCALE];
    const rowMin = tensors[name + ROW_MIN];
    if (!rowScale || !rowMin) continue;
    const codes = tensors[name];
    tensors[name] = tf.tidy(() => tf.add(tf.mul(codes, tf.expandDims(rowScale, 1)), tf.expandDims(rowMin, 1)));
    codes.dispose();
  }
  try {
    const model = BehaveGPT.fromTensors(manifest.config, tensors);
    return {
      model,
      behaviors: Vocabulary.fromJSON(manifest.vocabulary.behaviors),
      locations: Vocabulary.fromJSON(manifest.vocabulary.locations),
      manifest,
    };
  } finally {
    // fromTensors copies into variables.
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/** Refuses NaN or infinite float32 values (quantized codes are bytes and always finite). */
function checkFinite(buffer: Uint8Array, entries: readonly WeightEntry[], file: string): void {
  let offset = 0;
  for (const w of entries) {
    const size = w.shape.reduce((a, b) => a * b, 1);
    if (w.quantization) {
      offset += size;
      continue;
    }
    const values = new Float32Array(buffer.slice(offset, offset + 4 * size).buffer);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new ModelFormatError(file, `weight "${w.name}"`, `value ${bad} is ${values[bad]}`);
    offset += 4 * size;
  }
}
