/**
 * Adding behaviors the model has never seen (matched by exact name) to a loaded model, so a
 * person's own devices can be learned by fine-tuning. New ids are appended after the old ones
 * (Vocabulary.extend), so every old id, embedding row and output column stays where it was.
 *
 * Initialisation (documented for users in docs/FINETUNE.md):
 * - input embedding (`embed.behavior` row): the mean of the rows of known behaviors of the same
 *   device (the part before ':'), else the mean of all real-behavior rows — a new behavior
 *   enters the model looking like "its device", or like an average behavior (a name without the
 *   `Device:action` pattern has no device: another vendor's `TV_ON` never borrows from a known name);
 * - output (`head.out.w` column): the mean of the same-device columns, else zeros, so the new
 *   behavior responds to context like its device does;
 * - output bias (`head.out.b`): by default the lowest bias of any known behavior, so a new
 *   behavior starts as unlikely as the rarest known one but is learnable within a few steps
 *   (a far lower bias, such as −30, would take Adam hundreds of steps at fine-tuning rates to
 *   climb out of).
 *
 * What this keeps before training: the logits of all old behaviors are unchanged (new columns
 * are separate), hence their ranking among themselves and their probabilities relative to each
 * other; absolute probabilities shrink by the mass the new behaviors take. With `newBias`
 * very low (e.g. −30) that mass is negligible and old probabilities are identical within 1e-6.
 */
import * as tf from '@tensorflow/tfjs-core';
import { deviceOfName } from '../core/finetune';
import { BehaveGPT } from './behavegpt';
import type { LoadedModel } from './weights';

export interface ExtendOptions {
  /** Output bias of each new behavior; default the lowest bias of a known real behavior. */
  newBias?: number;
}

/** Mean of the selected rows of a row-major [rows, cols] matrix (zeros when none is selected). */
function meanRows(values: Float32Array, cols: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(cols);
  for (const r of rows) for (let c = 0; c < cols; c++) out[c] += values[r * cols + c];
  if (rows.length) for (let c = 0; c < cols; c++) out[c] /= rows.length;
  return out;
}

/**
 * A new model whose vocabulary also holds `names` (names already known are ignored). Returns
 * `loaded` itself when nothing is new; otherwise a separate model (the caller still owns, and
 * disposes, the original).
 */
export async function extendVocabulary(
  loaded: LoadedModel,
  names: readonly string[],
  options: ExtendOptions = {},
): Promise<LoadedModel> {
  const behaviors = loaded.behaviors.extend(names);
  const oldSize = loaded.behaviors.size;
  const added = behaviors.tokens.slice(oldSize);
  if (added.length === 0) return loaded;

  const { model } = loaded;
  const config = { ...model.config, numBehaviors: behaviors.size };
  const param = (name: string) => {
    const v = model.params.get(name);
    if (!v) throw new Error(`extendVocabulary: the model has no "${name}"`);
    return v;
  };
  const embedding = (await param('embed.behavior').data()) as Float32Array;
  const outW = (await param('head.out.w').data()) as Float32Array;
  const outB = (await param('head.out.b').data()) as Float32Array;
  const dim = model.config.behaviorDim;
  const hidden = model.config.headHidden;

  const real: number[] = [];
  const byDevice = new Map<string, number[]>();
  for (let id = 0; id < oldSize; id++) {
    if (loaded.behaviors.isSpecial(id)) continue;
    real.push(id);
    const device = deviceOfName(loaded.behaviors.name(id));
    if (device === null) continue;
    const list = byDevice.get(device);
    if (list) list.push(id);
    else byDevice.set(device, [id]);
  }
  const lowestBias = real.length ? Math.min(...real.map((id) => outB[id])) : 0;
  const newBias = options.newBias ?? lowestBias;

  const V = behaviors.size;
  const embedding2 = new Float32Array(V * dim);
  embedding2.set(embedding);
  // head.out.w is [hidden, V]: columns are behaviors, so it is rebuilt row by row.
  const outW2 = new Float32Array(hidden * V);
  for (let h = 0; h < hidden; h++) outW2.set(outW.subarray(h * oldSize, (h + 1) * oldSize), h * V);
  const outB2 = new Float32Array(V);
  outB2.set(outB);

  const allRowsMean = meanRows(embedding, dim, real);
  added.forEach((name, i) => {
    const id = oldSize + i;
    const device = deviceOfName(name);
    const siblings = (device !== null && byDevice.get(device)) || [];
    embedding2.set(siblings.length ? meanRows(embedding, dim, siblings) : allRowsMean, id * dim);
    for (let h = 0; h < hidden; h++) {
      let sum = 0;
      for (const s of siblings) sum += outW[h * oldSize + s];
      outW2[h * V + id] = siblings.length ? sum / siblings.length : 0;
    }
    outB2[id] = newBias;
  });

  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, v] of model.params) tensors[name] = tf.clone(v);
  tensors['embed.behavior'].dispose();
  tensors['head.out.w'].dispose();
  tensors['head.out.b'].dispose();
  tensors['embed.behavior'] = tf.tensor2d(embedding2, [V, dim]);
  tensors['head.out.w'] = tf.tensor2d(outW2, [hidden, V]);
  tensors['head.out.b'] = tf.tensor1d(outB2);
  try {
    const extended = BehaveGPT.fromTensors(config, tensors);
    return {
      model: extended,
      behaviors,
      locations: loaded.locations,
      // weightsManifest still describes the original files; serializeModel writes a new one.
      manifest: {
        ...loaded.manifest,
        config,
        vocabulary: { behaviors: behaviors.toJSON(), locations: loaded.locations.toJSON() },
      },
    };
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
