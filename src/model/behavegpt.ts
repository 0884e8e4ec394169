/**
 * BehaveGPT (Gong et al., 2025, arXiv 2505.17631) in TensorFlow.js: the whole model in one file.
 *
 * Each token is an event with four streams — behavior, weekday, 3-hour slot, location — whose
 * embeddings are concatenated (plus a learned position embedding), passed through pre-norm
 * causal transformer blocks, and read out by an MLP head over behaviors. The head also sees the
 * weekday/slot/location of the event being predicted, so the model answers "what happens next,
 * at this time". Token layout and batching live in core/batch.ts.
 *
 * Runs on the webgpu, wasm, webgl and cpu backends. Two choices follow from the wasm backend:
 * embeddings are one-hot matMuls (wasm has no gradient for gather), and matMul gradients
 * transpose explicitly (wasm's transposed matMul is 4–5× slower in backprop).
 *
 * A second forward pass exists: model/cpu-decoder.ts runs the same network in plain JavaScript
 * with a key/value cache (generation, where ~70 tfjs ops per token cost more than the
 * arithmetic). Both read their weights through `bindParameters` below, so a parameter is defined
 * once; a change to the formulas must be made in both, and test/decode.test.ts guards it (the
 * decoder's probabilities equal this file's within 1e-5 at every step of a rollout).
 */
import * as tf from '@tensorflow/tfjs-core';
import { NUM_SLOTS, NUM_WEEKDAYS } from '../core/events';
import { NUM_SLOT_DELTAS } from '../core/time';
import type { Batch } from '../core/batch';
import { createRng, normal } from '../core/random';

export interface BehaveGPTConfig {
  /** Behavior vocabulary size, special tokens included. */
  numBehaviors: number;
  numLocations: number;
  /** Token ids that are never predicted (<pad>, <bos>, <unk>). */
  specialBehaviorIds: number[];
  /** Maximum tokens per example: <bos> + events, so a query sees contextLength − 1 events of history. */
  contextLength: number;
  behaviorDim: number;
  weekdayDim: number;
  slotDim: number;
  locationDim: number;
  /** Size of each target-context embedding (weekday, slot, location of the predicted event). */
  targetDim: number;
  numLayers: number;
  numHeads: number;
  /** Feed-forward hidden size = mlpRatio × model width. */
  mlpRatio: number;
  headHidden: number;
  dropout: number;
  /** False gives the context-free ablation (SASRec-like): behavior stream only. */
  useContext: boolean;
  /**
   * A second head that predicts when the next event happens (its 3-hour-slot delta, 0–55, see
   * core/time.ts) from the same hidden state, so generated trajectories carry times. Absent in
   * models trained before it existed.
   */
  timeHead?: boolean;
  /** Hidden size of the time head (default 64). */
  timeHidden?: number;
}

export const DEFAULT_CONFIG: Omit<BehaveGPTConfig, 'numBehaviors' | 'numLocations' | 'specialBehaviorIds'> = {
  contextLength: 33,
  behaviorDim: 48,
  weekdayDim: 8,
  slotDim: 8,
  locationDim: 8,
  targetDim: 16,
  numLayers: 2,
  numHeads: 4,
  mlpRatio: 4,
  headHidden: 128,
  dropout: 0.1,
  useContext: true,
};

/** Model width: the concatenated input embeddings. */
export function modelWidth(c: BehaveGPTConfig): number {
  return c.behaviorDim + (c.useContext ? c.weekdayDim + c.slotDim + c.locationDim : 0);
}

/** A parameter's shape and initialiser. */
export interface ParamSpec {
  shape: number[];
  /** Standard deviation of the normal initialiser; 0 → zeros, 'ones' → ones. */
  init: number | 'ones';
}

export interface Dense<T> {
  w: T;
  b: T;
}
export interface Norm<T> {
  gamma: T;
  beta: T;
}
export interface Block<T> {
  ln1: Norm<T>;
  qkv: Dense<T>;
  attnOut: Dense<T>;
  ln2: Norm<T>;
  fc: Dense<T>;
  proj: Dense<T>;
}

/**
 * Every parameter of the network, by role. Both forward passes (this file's and the plain-JS
 * decoder in cpu-decoder.ts) read their weights through this one structure, so a parameter's
 * name, shape and initialiser are written once, in `layout`.
 */
export interface ModelParams<T> {
  embed: { behavior: T; weekday?: T; slot?: T; location?: T; position: T };
  blocks: Block<T>[];
  lnf: Norm<T>;
  /** Embeddings of the predicted event's weekday, slot and location (context models only). */
  target?: { weekday: T; slot: T; location: T };
  head: { fc: Dense<T>; out: Dense<T> };
  time?: { fc: Dense<T>; out: Dense<T> };
}

/**
 * The one definition of the parameters: `param` is called once per parameter in the stable order
 * of the weight file, and its results are arranged by role.
 */
function layout<T>(c: BehaveGPTConfig, param: (name: string, spec: ParamSpec) => T): ModelParams<T> {
  const d = modelWidth(c);
  const std = 0.02;
  const residualStd = std / Math.sqrt(2 * c.numLayers);
  const add = (name: string, shape: number[], init: ParamSpec['init']) => param(name, { shape, init });
  const dense = (name: string, inputs: number, outputs: number, init = std): Dense<T> => ({
    w: add(`${name}.w`, [inputs, outputs], init),
    b: add(`${name}.b`, [outputs], 0),
  });
  const norm = (name: string): Norm<T> => ({
    gamma: add(`${name}.gamma`, [d], 'ones'),
    beta: add(`${name}.beta`, [d], 0),
  });

  const embed = {
    behavior: add('embed.behavior', [c.numBehaviors, c.behaviorDim], std),
    weekday: c.useContext ? add('embed.weekday', [NUM_WEEKDAYS + 1, c.weekdayDim], std) : undefined,
    slot: c.useContext ? add('embed.slot', [NUM_SLOTS + 1, c.slotDim], std) : undefined,
    location:
      c.useContext && c.locationDim > 0 ? add('embed.location', [c.numLocations, c.locationDim], std) : undefined,
    position: add('embed.position', [c.contextLength, d], std),
  };
  const blocks: Block<T>[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `block${l}.`;
    blocks.push({
      ln1: norm(`${p}ln1`),
      qkv: dense(`${p}attn.qkv`, d, 3 * d),
      attnOut: dense(`${p}attn.out`, d, d, residualStd),
      ln2: norm(`${p}ln2`),
      fc: dense(`${p}mlp.fc`, d, c.mlpRatio * d),
      proj: dense(`${p}mlp.proj`, c.mlpRatio * d, d, residualStd),
    });
  }
  const lnf = norm('lnf');
  const target = c.useContext
    ? {
        weekday: add('target.weekday', [NUM_WEEKDAYS + 1, c.targetDim], std),
        slot: add('target.slot', [NUM_SLOTS + 1, c.targetDim], std),
        location: add('target.location', [c.numLocations, c.targetDim], std),
      }
    : undefined;
  const head = {
    fc: dense('head.fc', headInputWidth(c), c.headHidden),
    out: dense('head.out', c.headHidden, c.numBehaviors),
  };
  // Last, so that adding the time head leaves every other parameter's seeded initialisation unchanged.
  const hiddenSize = c.timeHidden ?? 64;
  const time = c.timeHead
    ? { fc: dense('time.fc', d, hiddenSize), out: dense('time.out', hiddenSize, NUM_SLOT_DELTAS) }
    : undefined;
  return { embed, blocks, lnf, target, head, time };
}

/** Input width of the behavior head: the hidden state, plus the target-context embeddings. */
export function headInputWidth(c: BehaveGPTConfig): number {
  return modelWidth(c) + (c.useContext ? 3 * c.targetDim : 0);
}

/** Every parameter with its shape and initialiser, in a stable order (this order is the weight file's). */
export function parameterSpecs(c: BehaveGPTConfig): Map<string, ParamSpec> {
  const specs = new Map<string, ParamSpec>();
  layout(c, (name, spec) => specs.set(name, spec));
  return specs;
}

/**
 * The parameters arranged by role, each looked up by name (`get` may check or convert it), for a
 * forward pass that reads them.
 */
export function bindParameters<T>(c: BehaveGPTConfig, get: (name: string, spec: ParamSpec) => T): ModelParams<T> {
  return layout(c, get);
}

/**
 * Embedding-like parameters: the input and target-context tables and the output layer over
 * behaviors. Scaling laws count the rest ("non-embedding", Kaplan et al., 2020), since these
 * grow with the vocabulary, not with the model's capacity to compute.
 */
export function isEmbeddingParameter(name: string): boolean {
  return name.startsWith('embed.') || name.startsWith('target.') || name === 'head.out.w' || name === 'head.out.b';
}

export function countParameters(c: BehaveGPTConfig, include: (name: string) => boolean = () => true): number {
  let n = 0;
  for (const [name, s] of parameterSpecs(c)) if (include(name)) n += s.shape.reduce((a, b) => a * b, 1);
  return n;
}

/** matMul whose gradient uses explicit transposes (plain matMuls are much faster than transposed ones on wasm). */
const matMulT = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved;
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
}) as never) as unknown as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/** Batched matMul [n,a,b]×[n,b,c] with explicit-transpose gradients. */
const batchMatMulT = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved;
      return [
        tf.matMul(dy as tf.Tensor3D, tf.transpose(sb, [0, 2, 1]) as tf.Tensor3D),
        tf.matMul(tf.transpose(sa, [0, 2, 1]) as tf.Tensor3D, dy as tf.Tensor3D),
      ];
    },
  };
}) as never) as unknown as (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D;

/** Identity whose gradient is zero: a head trained on features without changing them. */
const stopGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as never) as unknown as (x: tf.Tensor2D) => tf.Tensor2D;

function dense(x: tf.Tensor2D, { w, b }: Dense<tf.Tensor>): tf.Tensor2D {
  return tf.add(matMulT(x, w as tf.Tensor2D), b);
}

function layerNorm(x: tf.Tensor2D, { gamma, beta }: Norm<tf.Tensor>): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
}

/** GELU, sigmoid approximation (x·σ(1.702x)): cheap and differentiable on every backend. */
function gelu(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
}

/** Embedding lookup as one-hot × table: differentiable on wasm, where gather has no gradient. */
function embed(ids: tf.Tensor1D, table: tf.Tensor): tf.Tensor2D {
  // oneHot needs depth ≥ 2; a one-row table (e.g. only the unknown location) is a broadcast.
  const oneHot = table.shape[0] === 1 ? tf.ones([ids.shape[0], 1]) : tf.cast(tf.oneHot(ids, table.shape[0]), 'float32');
  return matMulT(oneHot as tf.Tensor2D, table as tf.Tensor2D);
}

export interface ForwardOptions {
  /** Dropout is applied only when training. */
  training?: boolean;
  seed?: number;
  /** Only these token positions reach the head (flat indices into B×T); all when omitted. */
  positions?: tf.Tensor1D;
  /** Time-head training only: its gradient does not reach the shared layers (see docs/GENERATION.md). */
  detachTime?: boolean;
}

/** The weekday/slot/location ids of the event a prediction is for. */
export interface TargetContext {
  weekday: number;
  slot: number;
  location: number;
}

/** Both heads' logits at the same positions; `time` only for models with a time head. */
export interface ModelOutputs {
  behavior: tf.Tensor2D;
  time?: tf.Tensor2D;
}

export class BehaveGPT {
  readonly config: BehaveGPTConfig;
  readonly params: Map<string, tf.Variable>;
  /** The same variables, arranged by role for the forward pass. */
  private readonly w: ModelParams<tf.Variable>;
  /** −1e9 on special tokens so they never receive probability. */
  private readonly logitMask: tf.Tensor1D;

  constructor(config: BehaveGPTConfig, params: Map<string, tf.Variable>) {
    this.config = config;
    this.params = params;
    this.w = bindParameters(config, (name) => {
      const v = params.get(name);
      if (!v) throw new Error(`BehaveGPT: no parameter "${name}"`);
      return v;
    });
    const mask = new Float32Array(config.numBehaviors);
    for (const id of config.specialBehaviorIds) mask[id] = -1e9;
    this.logitMask = tf.keep(tf.tensor1d(mask));
  }

  /** A freshly initialised model (seeded, identical on every backend). */
  static create(config: BehaveGPTConfig, seed = 0): BehaveGPT {
    const rng = createRng(seed);
    const params = new Map<string, tf.Variable>();
    for (const [name, spec] of parameterSpecs(config)) {
      const size = spec.shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(size);
      if (spec.init === 'ones') values.fill(1);
      else if (spec.init > 0) for (let i = 0; i < size; i++) values[i] = normal(rng) * spec.init;
      params.set(name, tf.variable(tf.tensor(values, spec.shape), true));
    }
    return new BehaveGPT(config, params);
  }

  /** A model from named weight tensors (e.g. decoded from a weight file); shapes are checked. */
  static fromTensors(config: BehaveGPTConfig, tensors: Record<string, tf.Tensor>): BehaveGPT {
    const params = new Map<string, tf.Variable>();
    for (const [name, spec] of parameterSpecs(config)) {
      const t = tensors[name];
      if (!t) throw new Error(`weights: missing tensor "${name}"`);
      if (t.shape.join('x') !== spec.shape.join('x')) {
        throw new Error(`weights: tensor "${name}" has shape [${t.shape}], config needs [${spec.shape}]`);
      }
      params.set(name, tf.variable(t, true));
    }
    return new BehaveGPT(config, params);
  }

  get parameterCount(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  /**
   * Logits over behaviors, [positions, numBehaviors]: every token of the batch in row-major
   * order, or only `options.positions`. Call inside tf.tidy (or dispose the result).
   */
  logits(batch: Batch, options: ForwardOptions = {}): tf.Tensor2D {
    return this.outputs(batch, options, false).behavior;
  }

  /** Behavior logits and, with `withTime` and a time head, next-time logits. Call inside tf.tidy. */
  outputs(batch: Batch, options: ForwardOptions = {}, withTime = true): ModelOutputs {
    const c = this.config;
    const drop = this.dropper(options);
    const ids = (a: Int32Array) => tf.tensor1d(a, 'int32');
    const x = this.hidden(batch, drop);
    let rows = x;
    let targetWeekdays = ids(batch.targetWeekdays);
    let targetSlots = ids(batch.targetSlots);
    let targetLocations = ids(batch.targetLocations);
    if (options.positions) {
      rows = tf.gather(x, options.positions);
      targetWeekdays = tf.gather(targetWeekdays, options.positions);
      targetSlots = tf.gather(targetSlots, options.positions);
      targetLocations = tf.gather(targetLocations, options.positions);
    }
    const behavior = this.behaviorHead(rows, targetWeekdays, targetSlots, targetLocations, drop);
    if (!withTime || !c.timeHead) return { behavior };
    return { behavior, time: this.timeHead(options.detachTime ? stopGradient(rows) : rows) };
  }

  /** Dropout with a per-call seed sequence (only when training). */
  private dropper(options: ForwardOptions): <R extends tf.Tensor>(x: R) => R {
    const rate = options.training ? this.config.dropout : 0;
    let seed = options.seed ?? 0;
    return <R extends tf.Tensor>(x: R): R => (rate > 0 ? (tf.dropout(x, rate, undefined, seed++) as R) : x);
  }

  /**
   * The shared layers: final hidden states [B·T, width] (after the last layer norm). `onAttention`
   * receives each layer's attention weights [B·H, T, T] (queries × keys).
   */
  private hidden(
    batch: Batch,
    drop: <R extends tf.Tensor>(x: R) => R,
    onAttention?: (weights: tf.Tensor3D) => void,
  ): tf.Tensor2D {
    const c = this.config;
    const B = batch.batchSize;
    const T = batch.length;
    if (T > c.contextLength) throw new Error(`BehaveGPT: ${T} tokens exceed the context length ${c.contextLength}`);
    const d = modelWidth(c);
    const H = c.numHeads;
    const dh = d / H;
    const ids = (a: Int32Array) => tf.tensor1d(a, 'int32');

    // Input: concatenated stream embeddings + position.
    const w = this.w;
    const streams = [embed(ids(batch.behaviors), w.embed.behavior)];
    if (w.embed.weekday) streams.push(embed(ids(batch.weekdays), w.embed.weekday));
    if (w.embed.slot) streams.push(embed(ids(batch.slots), w.embed.slot));
    if (w.embed.location) streams.push(embed(ids(batch.locations), w.embed.location));
    const positionEmb = tf.tile(tf.slice(w.embed.position, [0, 0], [T, d]), [B, 1]);
    let x = drop(tf.add(streams.length > 1 ? tf.concat(streams, 1) : streams[0], positionEmb)) as tf.Tensor2D;

    // Causal mask, additive: 0 where key ≤ query, −1e9 after.
    const causal = tf.tensor2d(
      Float32Array.from({ length: T * T }, (_, i) => (i % T <= Math.floor(i / T) ? 0 : -1e9)),
      [T, T],
    );
    const toHeads = (m: tf.Tensor2D) =>
      tf.reshape(tf.transpose(tf.reshape(m, [B, T, H, dh]), [0, 2, 1, 3]), [B * H, T, dh]) as tf.Tensor3D;

    for (const block of w.blocks) {
      const h = layerNorm(x, block.ln1);
      const qkv = dense(h, block.qkv);
      const [q, k, v] = tf.split(qkv, 3, 1) as tf.Tensor2D[];
      const keys = toHeads(k);
      const values = toHeads(v);
      const scores = tf.add(tf.mul(batchMatMulT(toHeads(q), tf.transpose(keys, [0, 2, 1])), 1 / Math.sqrt(dh)), causal);
      const weights = tf.softmax(scores) as tf.Tensor3D;
      onAttention?.(weights);
      const att = drop(weights);
      const y = batchMatMulT(att as tf.Tensor3D, values);
      const merged = tf.reshape(tf.transpose(tf.reshape(y, [B, H, T, dh]), [0, 2, 1, 3]), [B * T, d]) as tf.Tensor2D;
      x = tf.add(x, drop(dense(merged, block.attnOut)));
      const ff = dense(gelu(dense(layerNorm(x, block.ln2), block.fc)), block.proj);
      x = tf.add(x, drop(ff));
    }
    return layerNorm(x, w.lnf);
  }

  /** Behavior head: hidden state + embeddings of the predicted event's weekday, slot and location. */
  private behaviorHead(
    rows: tf.Tensor2D,
    targetWeekdays: tf.Tensor1D,
    targetSlots: tf.Tensor1D,
    targetLocations: tf.Tensor1D,
    drop: <R extends tf.Tensor>(x: R) => R = (x) => x,
  ): tf.Tensor2D {
    const { target, head } = this.w;
    const headIn = target
      ? tf.concat(
          [
            rows,
            embed(targetWeekdays, target.weekday),
            embed(targetSlots, target.slot),
            embed(targetLocations, target.location),
          ],
          1,
        )
      : rows;
    const hidden = drop(gelu(dense(headIn as tf.Tensor2D, head.fc)));
    return tf.add(dense(hidden, head.out), this.logitMask);
  }

  /** Time head: logits over the slot delta to the next event, from the hidden state alone. */
  private timeHead(rows: tf.Tensor2D): tf.Tensor2D {
    const time = this.w.time;
    if (!time) throw new Error('BehaveGPT: the model has no time head');
    return dense(gelu(dense(rows, time.fc)), time.out);
  }

  /** Probabilities over behaviors at the given flat positions, read back asynchronously. */
  async probabilities(batch: Batch, positions: number[]): Promise<Float32Array> {
    const probs = tf.tidy(() => tf.softmax(this.logits(batch, { positions: tf.tensor1d(positions, 'int32') })));
    try {
      return (await probs.data()) as Float32Array;
    } finally {
      probs.dispose();
    }
  }

  /**
   * One generation step without a cache (incremental decoding is model/cpu-decoder.ts): reads
   * the batch's tokens and returns the hidden state at `positions` (flat b·T + t; default the
   * last token of a one-row batch), kept (the caller disposes it), with the time head's
   * distributions over the slot delta to the next event, one row per position. The behavior
   * distribution, which depends on the next event's time, comes from `behaviorProbabilities`
   * once that time is chosen.
   */
  async step(
    batch: Batch,
    positions: number[] = [batch.length - 1],
  ): Promise<{ hidden: tf.Tensor2D; time: Float32Array | null }> {
    const [hidden, time] = tf.tidy(() => {
      const x = this.hidden(batch, (t) => t);
      const rows = tf.gather(x, tf.tensor1d(positions, 'int32')) as tf.Tensor2D;
      return this.config.timeHead ? [rows, tf.softmax(this.timeHead(rows))] : [rows];
    }) as [tf.Tensor2D, tf.Tensor2D | undefined];
    try {
      return { hidden, time: time ? ((await time.data()) as Float32Array) : null };
    } finally {
      time?.dispose();
    }
  }

  /**
   * Attention weights of every layer, each [B, H, T, T] flattened (queries × keys; keys after the
   * query get 0): the reference the plain-JS decoder's captured weights are tested against.
   */
  async attentionWeights(batch: Batch): Promise<Float32Array[]> {
    const layers = tf.tidy(() => {
      const out: tf.Tensor3D[] = [];
      this.hidden(
        batch,
        (t) => t,
        (weights) => out.push(weights),
      );
      return out;
    });
    try {
      return (await Promise.all(layers.map((t) => t.data()))) as Float32Array[];
    } finally {
      for (const t of layers) t.dispose();
    }
  }

  /**
   * Behavior distributions from hidden states (from `step`), row k for a next event at the
   * context ids `next[k]` (one object for every row): [rows × numBehaviors].
   */
  async behaviorProbabilities(
    hidden: tf.Tensor2D,
    next: TargetContext | readonly TargetContext[],
  ): Promise<Float32Array> {
    const list = Array.isArray(next) ? next : Array.from({ length: hidden.shape[0] }, () => next as TargetContext);
    const column = (key: keyof TargetContext) =>
      tf.tensor1d(
        list.map((n) => n[key]),
        'int32',
      );
    const probs = tf.tidy(() =>
      tf.softmax(this.behaviorHead(hidden, column('weekday'), column('slot'), column('location'))),
    );
    try {
      return (await probs.data()) as Float32Array;
    } finally {
      probs.dispose();
    }
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.logitMask.dispose();
  }
}
