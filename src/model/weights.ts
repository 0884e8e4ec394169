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
 */
import * as tf from '@tensorflow/tfjs-core';
import { quantizeUint8, type AffineQuantization } from '../core/quantize';
import { Vocabulary, type VocabularyJSON } from '../core/vocab';
import { BehaveGPT, parameterSpecs, type BehaveGPTConfig } from './behavegpt';

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
  weightsManifest: { paths: string[]; weights: WeightEntry[] }[];
}

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
    weightsManifest: [{ paths, weights: entries }],
  };
  return { manifest, shards };
}

/** Checks a parsed model.json; errors name the file and the field. */
export function validateManifest(json: unknown, file = 'model.json'): ModelManifest {
  const fail = (field: string, problem: string): never => {
    throw new Error(`${file}: field "${field}": ${problem}`);
  };
  if (typeof json !== 'object' || json === null) fail('(root)', 'not a JSON object');
  const m = json as Partial<ModelManifest>;
  if (m.format !== FORMAT) fail('format', `expected "${FORMAT}", got ${JSON.stringify(m.format)}`);
  if (m.formatVersion !== FORMAT_VERSION) fail('formatVersion', `expected ${FORMAT_VERSION}, got ${JSON.stringify(m.formatVersion)}`);
  if (!m.config || typeof m.config !== 'object') fail('config', 'missing');
  if (!m.vocabulary?.behaviors?.tokens) fail('vocabulary.behaviors.tokens', 'missing');
  if (!m.vocabulary?.locations?.tokens) fail('vocabulary.locations.tokens', 'missing');
  if (!Array.isArray(m.weightsManifest) || m.weightsManifest.length === 0) fail('weightsManifest', 'missing or empty');
  const config = m.config!;
  if (config.numBehaviors !== m.vocabulary!.behaviors.tokens.length) {
    fail('config.numBehaviors', `${config.numBehaviors} but the vocabulary has ${m.vocabulary!.behaviors.tokens.length} behaviors`);
  }
  if (config.numLocations !== m.vocabulary!.locations.tokens.length) {
    fail('config.numLocations', `${config.numLocations} but the vocabulary has ${m.vocabulary!.locations.tokens.length} locations`);
  }
  const specs = parameterSpecs(config);
  const names = new Set(m.weightsManifest!.flatMap((g) => g.weights.map((w) => w.name)));
  for (const name of specs.keys()) if (!names.has(name)) fail('weightsManifest', `no weight "${name}"`);
  return m as ModelManifest;
}

/** Total bytes the manifest's weights occupy in the shards. */
export function weightBytes(manifest: ModelManifest): number {
  let n = 0;
  for (const g of manifest.weightsManifest) {
    for (const w of g.weights) n += w.shape.reduce((a, b) => a * b, 1) * (w.quantization ? 1 : 4);
  }
  return n;
}

/** Builds the model from a manifest and its shards (in manifest path order). */
export function modelFromArtifacts(manifest: ModelManifest, shards: ArrayBuffer[]): LoadedModel {
  const expected = weightBytes(manifest);
  const total = shards.reduce((s, b) => s + b.byteLength, 0);
  if (total !== expected) throw new Error(`weights: shards hold ${total} bytes, the manifest describes ${expected}`);
  const buffer = new Uint8Array(total);
  let offset = 0;
  for (const s of shards) {
    buffer.set(new Uint8Array(s), offset);
    offset += s.byteLength;
  }
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
    Object.values(tensors).forEach((t) => t.dispose());
  }
}
