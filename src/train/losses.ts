/**
 * Training objectives over behavior classes, all on one code path (Node training and the
 * browser worker share it): a per-token cross-entropy, reduced with optional per-class weights.
 *
 * - `ce`: plain cross-entropy (optionally label-smoothed).
 * - `logit-adjusted`: Menon et al. (ICLR 2021), logits + τ·log prior during training only.
 * - `class-balanced`: Cui et al. (CVPR 2019), weights (1 − β) / (1 − β^n_c).
 * - `dro`: class-level DRO (src/core/dro.ts), weights q*_c / p_c from moving per-class losses;
 *   with `tau` the per-class losses are logit-adjusted ones (docs/DRO.md, "DRO over logit-adjusted losses").
 */
import * as tf from '@tensorflow/tfjs-core';
import { IGNORE } from '../core/batch';
import { DroState, type DroOptions } from '../core/dro';

export interface TokenLossOptions {
  /** Added to the logits during training only (logit adjustment). */
  logitBias?: tf.Tensor1D;
  /** Mass spread uniformly over `smoothingClasses` (label smoothing). */
  labelSmoothing?: number;
  /** 0/1 mask of the classes that can receive smoothing mass (real behaviors). */
  smoothingClasses?: tf.Tensor1D;
}

function labelIds(targets: Int32Array): tf.Tensor1D {
  return tf.tensor1d(
    Array.from(targets, (t) => (t === IGNORE ? 0 : t)),
    'int32',
  );
}

/** Per-token negative log-likelihood [N] (0 at ignored tokens) and the 0/1 mask of counted tokens. */
export function tokenLosses(
  logits: tf.Tensor2D,
  targets: Int32Array,
  options: TokenLossOptions = {},
): { losses: tf.Tensor1D; mask: tf.Tensor1D } {
  const numClasses = logits.shape[1];
  const mask = tf.tensor1d(
    Array.from(targets, (t) => (t === IGNORE ? 0 : 1)),
    'float32',
  );
  let target: tf.Tensor = tf.cast(tf.oneHot(labelIds(targets), numClasses), 'float32');
  const eps = options.labelSmoothing ?? 0;
  if (eps > 0) {
    if (!options.smoothingClasses) throw new Error('label smoothing needs smoothingClasses');
    const uniform = tf.div(options.smoothingClasses, tf.sum(options.smoothingClasses));
    target = tf.add(tf.mul(target, 1 - eps), tf.mul(uniform, eps));
  }
  const adjusted = options.logitBias ? tf.add(logits, options.logitBias) : logits;
  // Targets put no mass on masked (−1e9) classes, so 0 × (−1e9) never meets an infinity.
  const nll = tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(adjusted)), -1)) as tf.Tensor1D;
  return { losses: tf.mul(nll, mask), mask };
}

/** Mean of token losses weighted by their target class's weight (self-normalised). */
export function reduceLosses(
  losses: tf.Tensor1D,
  mask: tf.Tensor1D,
  targets: Int32Array,
  classWeights?: tf.Tensor1D,
): tf.Scalar {
  let weights: tf.Tensor1D = mask;
  if (classWeights) {
    // One-hot × weights rather than gather: gather has no gradient on wasm.
    const w = tf.sum(tf.mul(tf.cast(tf.oneHot(labelIds(targets), classWeights.shape[0]), 'float32'), classWeights), -1);
    weights = tf.mul(w, mask);
  }
  return tf.div(tf.sum(tf.mul(losses, weights)), tf.maximum(tf.sum(weights), 1e-8)) as tf.Scalar;
}

export function crossEntropy(
  logits: tf.Tensor2D,
  targets: Int32Array,
  options: TokenLossOptions & { classWeights?: tf.Tensor1D } = {},
): tf.Scalar {
  const { losses, mask } = tokenLosses(logits, targets, options);
  return reduceLosses(losses, mask, targets, options.classWeights);
}

export type ObjectiveName = 'ce' | 'dro' | 'logit-adjusted' | 'class-balanced';
export const OBJECTIVES: readonly ObjectiveName[] = ['ce', 'dro', 'logit-adjusted', 'class-balanced'];

export interface ObjectiveSpec {
  name: ObjectiveName;
  labelSmoothing?: number;
  /** Logit adjustment strength τ (Menon et al. use 1); also allowed with `dro`, whose class losses are then logit-adjusted. */
  tau?: number;
  /** Class-balanced β (Cui et al. use 0.9–0.9999). */
  beta?: number;
  dro?: Partial<DroOptions>;
}

export interface Objective {
  readonly spec: ObjectiveSpec;
  /** Scalar training loss of a batch (called inside the gradient tape). */
  loss(logits: tf.Tensor2D, targets: Int32Array): tf.Scalar;
  /** After each optimizer step: adaptive objectives update their state. */
  afterStep(): Promise<void>;
  /** Current per-class weights, for inspection (null when uniform). */
  classWeights(): Float64Array | null;
  dispose(): void;
}

/**
 * Builds an objective for a vocabulary of `classCounts.length` classes with the given training
 * counts; `isSpecial` marks ids that are never targets.
 */
export function createObjective(
  spec: ObjectiveSpec,
  classCounts: readonly number[],
  isSpecial: (id: number) => boolean,
): Objective {
  const total = classCounts.reduce((a, b) => a + b, 0);
  const smoothingClasses = tf.keep(
    tf.tensor1d(
      classCounts.map((_, i) => (isSpecial(i) ? 0 : 1)),
      'float32',
    ),
  );
  const base: TokenLossOptions = { labelSmoothing: spec.labelSmoothing ?? 0, smoothingClasses };
  const kept: tf.Tensor[] = [smoothingClasses];
  let staticWeights: Float64Array | null = null;
  let dro: DroState | null = null;
  let lastLosses: tf.Tensor1D | null = null;
  let lastTargets: Int32Array | null = null;

  if (spec.name === 'logit-adjusted' || (spec.name === 'dro' && spec.tau)) {
    const tau = spec.tau ?? 1;
    // Unseen classes get the smallest seen prior, not log 0.
    const minCount = Math.min(...classCounts.filter((n, i) => n > 0 && !isSpecial(i)));
    base.logitBias = tf.keep(
      tf.tensor1d(
        classCounts.map((n) => tau * Math.log(Math.max(n, minCount) / total)),
        'float32',
      ),
    );
    kept.push(base.logitBias);
  }
  if (spec.name === 'class-balanced') {
    const beta = spec.beta ?? 0.999;
    const raw = classCounts.map((n, i) => (isSpecial(i) || n === 0 ? 0 : (1 - beta) / (1 - beta ** n)));
    // Normalised so the weights sum to the number of classes (Cui et al., eq. 4 and after).
    const seen = raw.filter((w) => w > 0).length;
    const sum = raw.reduce((a, b) => a + b, 0);
    staticWeights = Float64Array.from(raw, (w) => (w * seen) / sum);
  } else if (spec.name === 'dro') {
    dro = new DroState(
      classCounts.map((n, i) => (isSpecial(i) ? 0 : n)),
      spec.dro,
    );
  }
  const staticTensor = staticWeights ? tf.keep(tf.tensor1d(Float32Array.from(staticWeights))) : undefined;
  if (staticTensor) kept.push(staticTensor);

  return {
    spec,
    loss(logits, targets) {
      const { losses, mask } = tokenLosses(logits, targets, base);
      if (!dro) return reduceLosses(losses, mask, targets, staticTensor);
      lastLosses?.dispose();
      lastLosses = tf.keep(losses.clone());
      lastTargets = targets;
      return reduceLosses(losses, mask, targets, tf.tensor1d(Float32Array.from(dro.weights())));
    },
    async afterStep() {
      if (!dro || !lastLosses || !lastTargets) return;
      dro.observe(lastTargets, await lastLosses.data());
      lastLosses.dispose();
      lastLosses = null;
    },
    classWeights() {
      return dro ? dro.weights() : staticWeights;
    },
    dispose() {
      for (const t of kept) t.dispose();
      lastLosses?.dispose();
    },
  };
}

/** Training counts of each vocabulary id among targets. */
export function countTargets(
  sequences: readonly { events: readonly { behavior: string }[] }[],
  id: (name: string) => number,
  size: number,
): number[] {
  const counts = new Array<number>(size).fill(0);
  for (const s of sequences) for (const e of s.events) counts[id(e.behavior)]++;
  return counts;
}
