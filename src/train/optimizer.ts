/**
 * AdamW (Loshchilov & Hutter, 2019) with global-norm gradient clipping and a settable
 * learning rate (tfjs's built-in Adam fixes its rate at construction, we need a schedule).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
  /** Parameters whose name matches get no weight decay (biases, norms). */
  noDecay?: (name: string) => boolean;
  clipNorm?: number;
}

export class AdamW {
  learningRate: number;
  private step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly o: Required<AdamWOptions>;

  constructor(learningRate: number, options: AdamWOptions = {}) {
    this.learningRate = learningRate;
    this.o = {
      beta1: 0.9,
      beta2: 0.99,
      epsilon: 1e-8,
      weightDecay: 0.01,
      noDecay: (name) => /\.(b|beta|gamma)$/.test(name),
      clipNorm: 1,
      ...options,
    };
  }

  /** Applies one update; returns the gradient norm before clipping. */
  apply(variables: ReadonlyMap<string, tf.Variable>, grads: Record<string, tf.Tensor>): tf.Scalar {
    this.step++;
    const { beta1, beta2, epsilon, weightDecay, noDecay, clipNorm } = this.o;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    return tf.tidy(() => {
      // A chain of adds, not one addN: WebGPU's AddN binds every input at once, and a device's
      // default 8 storage buffers per shader stage are fewer than the gradients (Dawn refuses it).
      const norm = tf.sqrt(
        Object.values(grads)
          .map((g) => tf.sum(tf.square(g)))
          .reduce((a, b) => tf.add(a, b)),
      ) as tf.Scalar;
      const scale = tf.div(clipNorm, tf.maximum(norm, clipNorm));
      for (const [name, variable] of variables) {
        const raw = grads[variable.name] ?? grads[name];
        if (!raw) continue;
        const g = tf.mul(raw, scale);
        let m = this.m.get(name);
        let v = this.v.get(name);
        if (!m || !v) {
          m = tf.variable(tf.zerosLike(variable), false);
          v = tf.variable(tf.zerosLike(variable), false);
          this.m.set(name, m);
          this.v.set(name, v);
        }
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), epsilon));
        const decay = noDecay(name) ? 0 : weightDecay;
        const next = tf.sub(tf.mul(variable, 1 - this.learningRate * decay), tf.mul(update, this.learningRate));
        variable.assign(next);
      }
      return tf.keep(norm);
    });
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** Linear warm-up then cosine decay to `minRatio` × peak. */
export function cosineSchedule(
  step: number,
  totalSteps: number,
  warmupSteps: number,
  peak: number,
  minRatio = 0.1,
): number {
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
  return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
