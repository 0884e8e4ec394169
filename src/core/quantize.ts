/**
 * 8-bit affine quantization in the TensorFlow.js weights-manifest convention:
 * value ≈ q × scale + min, q ∈ [0, 255], one (min, scale) pair per tensor. Pure.
 */

export interface AffineQuantization {
  dtype: 'uint8';
  min: number;
  scale: number;
}

export function quantizeUint8(values: Float32Array): { bytes: Uint8Array; quantization: AffineQuantization } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) throw new Error('quantize: non-finite weight');
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (values.length === 0) min = max = 0;
  // Constant tensors (e.g. fresh biases) still need a positive scale.
  const scale = max > min ? (max - min) / 255 : 1;
  // Store min/scale as float32, exactly as the decoder will read them back from JSON.
  const min32 = Math.fround(min);
  const scale32 = Math.fround(scale);
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++)
    bytes[i] = Math.max(0, Math.min(255, Math.round((values[i] - min32) / scale32)));
  return { bytes, quantization: { dtype: 'uint8', min: min32, scale: scale32 } };
}

export function dequantizeUint8(bytes: Uint8Array, q: AffineQuantization): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] * q.scale + q.min;
  return out;
}

/** Largest possible |x − dequantize(quantize(x))| for a tensor: half a step. */
export function quantizationErrorBound(q: AffineQuantization): number {
  return q.scale / 2;
}
