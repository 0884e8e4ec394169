/**
 * Reading predictions out of a probability vector, on the CPU side (tf.multinomial returned
 * wrong samples on WebGPU/SwiftShader). Pure.
 */

/** Indices of the k largest values, largest first, skipping `exclude`. */
export function topK(values: ArrayLike<number>, k: number, exclude: ReadonlySet<number> = new Set()): number[] {
  const idx: number[] = [];
  for (let i = 0; i < values.length; i++) if (!exclude.has(i)) idx.push(i);
  idx.sort((a, b) => values[b] - values[a] || a - b);
  return idx.slice(0, k);
}

export interface SamplingOptions {
  /** Divides log-probabilities; 1 keeps the model's distribution, → 0 approaches greedy. */
  temperature?: number;
  /** Keep only the k most likely ids (0 or undefined: all). */
  topK?: number;
  /** Keep the smallest set of most likely ids whose mass reaches p (1 or undefined: all). */
  topP?: number;
  /** Always take the most likely id. */
  greedy?: boolean;
}

/**
 * The distribution actually sampled from: excluded ids removed, temperature applied, then the
 * top-k and top-p (nucleus) filters, renormalised. Zero outside the kept set.
 */
export function samplingDistribution(
  probs: ArrayLike<number>,
  options: SamplingOptions = {},
  exclude: ReadonlySet<number> = new Set(),
): Float64Array {
  const { temperature = 1, topK: k = 0, topP = 1 } = options;
  if (!(temperature > 0)) throw new Error(`sampling: temperature must be > 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`sampling: top-p must be in (0, 1], got ${topP}`);
  const out = new Float64Array(probs.length);
  // p^(1/T), computed in log space for stability.
  let maxLog = -Infinity;
  for (let i = 0; i < probs.length; i++)
    if (!exclude.has(i) && probs[i] > 0) maxLog = Math.max(maxLog, Math.log(probs[i]) / temperature);
  if (maxLog === -Infinity) throw new Error('sampling: no id has positive probability');
  for (let i = 0; i < probs.length; i++)
    if (!exclude.has(i) && probs[i] > 0) out[i] = Math.exp(Math.log(probs[i]) / temperature - maxLog);
  const order = topK(out, out.length).filter((i) => out[i] > 0);
  const total = order.reduce((s, i) => s + out[i], 0);
  const keep = new Set<number>();
  let mass = 0;
  for (const i of order) {
    if ((k > 0 && keep.size >= k) || (keep.size > 0 && mass >= topP * total)) break;
    keep.add(i);
    mass += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] = keep.has(i) ? out[i] / mass : 0;
  return out;
}

/** p^(1/T) over the ids not excluded, normalised (samplingDistribution without filters). */
function tempered(probs: ArrayLike<number>, temperature: number, exclude: ReadonlySet<number>): Float64Array {
  if (!(temperature > 0)) throw new Error(`sampling: temperature must be > 0, got ${temperature}`);
  const out = new Float64Array(probs.length);
  // In log space relative to the largest, as samplingDistribution: small temperatures do not underflow.
  let maxLog = -Infinity;
  if (temperature !== 1)
    for (let i = 0; i < probs.length; i++)
      if (!exclude.has(i) && probs[i] > 0) maxLog = Math.max(maxLog, Math.log(probs[i]) / temperature);
  let total = 0;
  for (let i = 0; i < probs.length; i++) {
    if (exclude.has(i) || !(probs[i] > 0)) continue;
    out[i] = temperature === 1 ? probs[i] : Math.exp(Math.log(probs[i]) / temperature - maxLog);
    total += out[i];
  }
  if (!(total > 0)) throw new Error('sampling: no id has positive probability');
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

/** Draws one id from `probs` with the options; `rng` (a seeded PRNG) makes draws reproducible. */
export function sample(
  probs: ArrayLike<number>,
  rng: () => number,
  options: SamplingOptions = {},
  exclude: ReadonlySet<number> = new Set(),
): number {
  if (options.greedy) return topK(probs, 1, exclude)[0];
  // No filter: no sorting needed (the generation loop samples every event this way).
  const dist =
    (options.topK ?? 0) === 0 && (options.topP ?? 1) === 1
      ? tempered(probs, options.temperature ?? 1, exclude)
      : samplingDistribution(probs, options, exclude);
  let u = rng();
  let last = -1;
  for (let i = 0; i < dist.length; i++) {
    if (dist[i] <= 0) continue;
    last = i;
    u -= dist[i];
    if (u < 0) return i;
  }
  return last; // rounding: the last kept id
}
