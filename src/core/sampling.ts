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
