/**
 * Training objectives over behavior classes. Every objective is a weighted cross-entropy on
 * the same code path (Node training and the browser worker share it): per-class weights and
 * an additive logit bias cover plain CE and its long-tail variants.
 */
import * as tf from '@tensorflow/tfjs-core';
import { IGNORE } from '../core/batch';

export interface CrossEntropyOptions {
  /** Weight of each target class (class-balanced / DRO); 1 for all when omitted. */
  classWeights?: tf.Tensor1D;
  /** Added to the logits during training only (logit adjustment). */
  logitBias?: tf.Tensor1D;
  /** Mass spread uniformly over `smoothingClasses` (label smoothing). */
  labelSmoothing?: number;
  /** 0/1 mask of the classes that can receive smoothing mass (real behaviors). */
  smoothingClasses?: tf.Tensor1D;
}

/** Per-token negative log-likelihood [N] (0 at ignored tokens) and the 0/1 mask of counted tokens. */
export function tokenLosses(logits: tf.Tensor2D, targets: Int32Array, options: CrossEntropyOptions = {}): { losses: tf.Tensor1D; mask: tf.Tensor1D } {
  const numClasses = logits.shape[1];
  const mask = tf.tensor1d(Array.from(targets, (t) => (t === IGNORE ? 0 : 1)), 'float32');
  const labels = tf.tensor1d(Array.from(targets, (t) => (t === IGNORE ? 0 : t)), 'int32');
  let oneHot = tf.oneHot(labels, numClasses).toFloat();
  const eps = options.labelSmoothing ?? 0;
  if (eps > 0) {
    if (!options.smoothingClasses) throw new Error('label smoothing needs smoothingClasses');
    const uniform = tf.div(options.smoothingClasses, tf.sum(options.smoothingClasses));
    oneHot = tf.add(tf.mul(oneHot, 1 - eps), tf.mul(uniform, eps));
  }
  const adjusted = options.logitBias ? tf.add(logits, options.logitBias) : logits;
  // Targets put no mass on masked (−1e9) classes, so 0 × (−1e9) never meets an infinity.
  const nll = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(adjusted)), -1)) as tf.Tensor1D;
  return { losses: tf.mul(nll, mask), mask };
}

/** Mean weighted cross-entropy over counted tokens. */
export function crossEntropy(logits: tf.Tensor2D, targets: Int32Array, options: CrossEntropyOptions = {}): tf.Scalar {
  const { losses, mask } = tokenLosses(logits, targets, options);
  let weights: tf.Tensor1D = mask;
  if (options.classWeights) {
    const labels = tf.tensor1d(Array.from(targets, (t) => (t === IGNORE ? 0 : t)), 'int32');
    // One-hot × weights instead of gather: differentiable-path friendly on every backend.
    const w = tf.sum(tf.mul(tf.oneHot(labels, logits.shape[1]).toFloat(), options.classWeights), -1);
    weights = tf.mul(w, mask);
  }
  return tf.div(tf.sum(tf.mul(losses, weights)), tf.maximum(tf.sum(weights), 1e-8)) as tf.Scalar;
}
