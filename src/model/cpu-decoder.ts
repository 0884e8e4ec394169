/**
 * Incremental decoding on the CPU in plain JavaScript, with a key/value cache: the generation
 * fast path. A step of the shipped model is ~0.2 M multiply-adds, far less than the cost of
 * dispatching its ~70 tensor ops one by one on any tfjs backend (on wasm here a one-token step
 * cost about as much as a 33-token window), so steps run here and the tfjs model stays the
 * reference: the same weights, the same formulas as BehaveGPT.outputs (tested equal within 1e-5).
 */
import { NUM_SLOTS, NUM_WEEKDAYS } from '../core/events';
import { NUM_SLOT_DELTAS } from '../core/time';
import { bindParameters, modelWidth, type BehaveGPT, type BehaveGPTConfig, type Dense, type ModelParams, type Norm } from './behavegpt';

/** One token's input ids (a history event, or <bos> with unknown weekday/slot). */
export interface TokenIds {
  behavior: number;
  weekday: number;
  slot: number;
  location: number;
}

type Weights = ModelParams<Float64Array>;
const weightCopies = new WeakMap<BehaveGPT, Weights>();

/** y = x·W + b for a row vector x and row-major W [x.length, b.length]. */
function dense(x: Float64Array, { w, b }: Dense<Float64Array>): Float64Array {
  const out = new Float64Array(b); // the copy constructor: Float64Array.from goes through the iterator, several times slower
  const n = out.length;
  const n4 = n - (n % 4);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    const row = i * n;
    // Unrolled by 4: about a third faster in V8 here.
    let j = 0;
    for (; j < n4; j += 4) {
      out[j] += xi * w[row + j];
      out[j + 1] += xi * w[row + j + 1];
      out[j + 2] += xi * w[row + j + 2];
      out[j + 3] += xi * w[row + j + 3];
    }
    for (; j < n; j++) out[j] += xi * w[row + j];
  }
  return out;
}

function layerNorm(x: Float64Array, { gamma, beta }: Norm<Float64Array>): Float64Array {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i] - mean) * (x[i] - mean);
  const inv = 1 / Math.sqrt(variance / n + 1e-5);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (x[i] - mean) * inv * gamma[i] + beta[i];
  return out;
}

/** GELU as the model computes it: x·σ(1.702x). In place. */
function gelu(x: Float64Array): Float64Array {
  for (let i = 0; i < x.length; i++) x[i] = x[i] / (1 + Math.exp(-1.702 * x[i]));
  return x;
}

function softmax(x: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]);
  const out = new Float32Array(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += out[i] = Math.exp(x[i] - max);
  for (let i = 0; i < x.length; i++) out[i] /= sum;
  return out;
}

export class CpuDecoder {
  readonly config: BehaveGPTConfig;
  private readonly w: Weights;
  private readonly keys: Float64Array[];
  private readonly values: Float64Array[];
  private readonly special: Set<number>;
  private count = 0;

  private constructor(config: BehaveGPTConfig, weights: Weights) {
    this.config = config;
    this.w = weights;
    const d = modelWidth(config);
    this.keys = Array.from({ length: config.numLayers }, () => new Float64Array(config.contextLength * d));
    this.values = Array.from({ length: config.numLayers }, () => new Float64Array(config.contextLength * d));
    this.special = new Set(config.specialBehaviorIds);
  }

  /**
   * A decoder over a copy of the model's weights, read back once per model and shared by its
   * decoders (each has its own cache). Training the model afterwards does not reach them.
   */
  static async fromModel(model: BehaveGPT): Promise<CpuDecoder> {
    let weights = weightCopies.get(model);
    if (!weights) {
      const copies = new Map<string, Float64Array>();
      for (const [name, v] of model.params) copies.set(name, new Float64Array((await v.data()) as Float32Array));
      weights = bindParameters(model.config, (name, spec) => {
        const copy = copies.get(name);
        const size = spec.shape.reduce((a, b) => a * b, 1);
        if (copy?.length !== size) throw new Error(`CpuDecoder: parameter "${name}" has ${copy?.length ?? 0} values, config needs ${size}`);
        return copy;
      });
      weightCopies.set(model, weights);
    }
    return new CpuDecoder(model.config, weights);
  }

  /** Tokens in the cache. */
  get length(): number {
    return this.count;
  }

  reset(): void {
    this.count = 0;
  }

  /** Keeps the first `length` tokens and forgets the rest, so a shared prefix is not recomputed (explanations). */
  truncate(length: number): void {
    if (!(Number.isInteger(length) && length >= 0 && length <= this.count)) throw new Error(`CpuDecoder: cannot truncate ${this.count} tokens to ${length}`);
    this.count = length;
  }

  /** Row `id` of an embedding table (a one-row table broadcasts, as in the tfjs model). */
  private row(table: Float64Array, id: number, width: number): Float64Array {
    const r = table.length === width ? 0 : id;
    return table.subarray(r * width, (r + 1) * width);
  }

  /**
   * Runs one token at the next position, caching its keys/values; returns its final hidden state.
   * With `attention` (numLayers × numHeads × (position + 1) values), also writes the token's
   * attention weights over positions 0…position, layer-major then head (model/explain.ts).
   */
  push(token: TokenIds, attention?: Float64Array): Float64Array {
    return this.step(token, attention, false)!;
  }

  /**
   * Caches the token's keys and values in every layer without finishing its own output (the
   * last layer's attention and feed-forward): for tokens whose hidden state nobody reads, such
   * as the middle of a history recomputed for an explanation (model/explain.ts).
   */
  pushKeys(token: TokenIds): void {
    this.step(token, undefined, true);
  }

  private step(token: TokenIds, attention: Float64Array | undefined, keysOnly: boolean): Float64Array | null {
    const c = this.config;
    const d = modelWidth(c);
    const pos = this.count;
    if (pos >= c.contextLength) throw new Error(`CpuDecoder: ${pos + 1} tokens exceed the context length ${c.contextLength}`);
    const { embed, blocks, lnf } = this.w;
    const parts: ArrayLike<number>[] = [this.row(embed.behavior, token.behavior, c.behaviorDim)];
    if (embed.weekday) parts.push(this.row(embed.weekday, token.weekday, c.weekdayDim));
    if (embed.slot) parts.push(this.row(embed.slot, token.slot, c.slotDim));
    if (embed.location) parts.push(this.row(embed.location, token.location, c.locationDim));
    const x = new Float64Array(d);
    let k = 0;
    for (const part of parts) for (let i = 0; i < part.length; i++) x[k++] = part[i];
    const position = this.row(embed.position, pos, d);
    for (let i = 0; i < d; i++) x[i] += position[i];

    const H = c.numHeads;
    const dh = d / H;
    const scale = 1 / Math.sqrt(dh);
    const scores = new Float64Array(pos + 1);
    for (let l = 0; l < blocks.length; l++) {
      const block = blocks[l];
      const qkv = dense(layerNorm(x, block.ln1), block.qkv);
      const keys = this.keys[l];
      const values = this.values[l];
      keys.set(qkv.subarray(d, 2 * d), pos * d);
      values.set(qkv.subarray(2 * d, 3 * d), pos * d);
      if (keysOnly && l === blocks.length - 1) {
        this.count++;
        return null;
      }
      const merged = new Float64Array(d);
      for (let head = 0; head < H; head++) {
        const o = head * dh;
        let max = -Infinity;
        for (let t = 0; t <= pos; t++) {
          const base = t * d + o;
          let s = 0;
          for (let i = 0; i < dh; i++) s += qkv[o + i] * keys[base + i];
          scores[t] = s * scale;
          if (scores[t] > max) max = scores[t];
        }
        let sum = 0;
        for (let t = 0; t <= pos; t++) sum += scores[t] = Math.exp(scores[t] - max);
        if (attention) for (let t = 0; t <= pos; t++) attention[(l * H + head) * (pos + 1) + t] = scores[t] / sum;
        for (let t = 0; t <= pos; t++) {
          const a = scores[t] / sum;
          const base = t * d + o;
          for (let i = 0; i < dh; i++) merged[o + i] += a * values[base + i];
        }
      }
      const attnOut = dense(merged, block.attnOut);
      for (let i = 0; i < d; i++) x[i] += attnOut[i];
      const ff = dense(gelu(dense(layerNorm(x, block.ln2), block.fc)), block.proj);
      for (let i = 0; i < d; i++) x[i] += ff[i];
    }
    this.count++;
    return layerNorm(x, lnf);
  }

  /** The time head's distribution over slot deltas to the next event. */
  timeProbabilities(hidden: Float64Array): Float32Array {
    const time = this.w.time;
    if (!time) throw new Error('CpuDecoder: the model has no time head');
    const logits = dense(gelu(dense(hidden, time.fc)), time.out);
    if (logits.length !== NUM_SLOT_DELTAS) throw new Error(`CpuDecoder: time head has ${logits.length} outputs`);
    return softmax(logits);
  }

  /** The behavior distribution for a next event at the given weekday/slot/location ids. */
  behaviorProbabilities(hidden: Float64Array, next: { weekday: number; slot: number; location: number }): Float32Array {
    const c = this.config;
    const { target, head } = this.w;
    let input = hidden;
    if (target) {
      const parts = [hidden, this.row(target.weekday, next.weekday, c.targetDim), this.row(target.slot, next.slot, c.targetDim), this.row(target.location, next.location, c.targetDim)];
      const joined = new Float64Array(parts.reduce((n, part) => n + part.length, 0));
      let k = 0;
      for (const part of parts) for (let i = 0; i < part.length; i++) joined[k++] = part[i];
      input = joined;
    }
    const logits = dense(gelu(dense(input, head.fc)), head.out);
    for (const id of this.special) logits[id] += -1e9;
    return softmax(logits);
  }
}

/** Ids of <bos>, the first token of every window (as core/batch encodes it). */
export function bosIds(bosBehavior: number): TokenIds {
  return { behavior: bosBehavior, weekday: NUM_WEEKDAYS, slot: NUM_SLOTS, location: 0 };
}
