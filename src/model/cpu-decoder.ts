/**
 * The network in plain JavaScript, with a key/value cache: the fast path for everything that is
 * small per call. A next-behavior prediction of the shipped model is ~0.1 M multiply-adds, far
 * less than the cost of dispatching its ~70 tensor ops one by one on any tfjs backend (~1 ms on
 * wasm here), so one-query prediction, generation steps and explanations run here, and the tfjs
 * model stays the reference: the same weights, the same formulas as BehaveGPT.outputs (tested
 * equal within 1e-5).
 *
 * Tokens run in blocks: a block of n tokens appended to the cache goes through each layer as
 * n-row matrix products (register-blocked kernels over transposed weights, ~3× the speed of a
 * row at a time in V8). In the last layer only the rows whose output is read get the attention,
 * feed-forward and final norm; the others only need their keys and values (a 32-event query
 * computes one full row, not 33).
 */
import { NUM_SLOTS, NUM_WEEKDAYS } from '../core/events';
import { NUM_SLOT_DELTAS } from '../core/time';
import type { Batch } from '../core/batch';
import {
  bindParameters,
  headInputWidth,
  modelWidth,
  type BehaveGPT,
  type BehaveGPTConfig,
  type Dense,
  type Norm,
} from './behavegpt';

/** One token's input ids (a history event, or <bos> with unknown weekday/slot). */
export interface TokenIds {
  behavior: number;
  weekday: number;
  slot: number;
  location: number;
}

/** The time of the event a prediction is for: the behavior head's target-context ids. */
export interface TargetIds {
  weekday: number;
  slot: number;
  location: number;
}

/** Token ids as columns (a Batch's layout): token i of a block is index `start + i`. */
export interface TokenColumns {
  behaviors: ArrayLike<number>;
  weekdays: ArrayLike<number>;
  slots: ArrayLike<number>;
  locations: ArrayLike<number>;
}

/** A dense layer for the kernels: the weight matrix transposed to [outputs × inputs], so each output reads a contiguous row. */
interface Linear {
  wt: Float64Array;
  b: Float64Array;
  inputs: number;
  outputs: number;
}

interface Layer {
  ln1: Norm<Float64Array>;
  qkv: Linear;
  attnOut: Linear;
  ln2: Norm<Float64Array>;
  fc: Linear;
  proj: Linear;
}

interface Weights {
  embed: {
    behavior: Float64Array;
    weekday?: Float64Array;
    slot?: Float64Array;
    location?: Float64Array;
    position: Float64Array;
  };
  layers: Layer[];
  lnf: Norm<Float64Array>;
  target?: { weekday: Float64Array; slot: Float64Array; location: Float64Array };
  head: { fc: Linear; out: Linear };
  time?: { fc: Linear; out: Linear };
}

const weightCopies = new WeakMap<BehaveGPT, Weights>();

function linear({ w, b }: Dense<Float64Array>): Linear {
  const outputs = b.length;
  const inputs = w.length / outputs;
  const wt = new Float64Array(w.length);
  for (let i = 0; i < inputs; i++) for (let j = 0; j < outputs; j++) wt[j * inputs + i] = w[i * outputs + j];
  return { wt, b, inputs, outputs };
}

/**
 * out[r·outStride + j] = b[j] + Σ_i x[xOffset + r·L.inputs + i]·W[i, j] for `rows` rows and the
 * columns j0 ≤ j < j1; with `add`, the result is added to what `out` holds (a residual). Rows in
 * pairs and columns in fours keep 8 sums in registers. Every sum runs over i in order from b[j],
 * whatever the block, so a token gives bit-identical results alone or in a block.
 */
function matmul(
  x: Float64Array,
  xOffset: number,
  rows: number,
  L: Linear,
  out: Float64Array,
  outStride: number,
  add = false,
  j0 = 0,
  j1 = L.outputs,
): void {
  const { wt, b, inputs: K } = L;
  const j4 = j0 + ((j1 - j0) & ~3);
  let r = 0;
  for (; r + 1 < rows; r += 2) {
    const xa = xOffset + r * K;
    const xb = xa + K;
    const oa = r * outStride;
    const ob = oa + outStride;
    let j = j0;
    for (; j < j4; j += 4) {
      let a0 = b[j];
      let a1 = b[j + 1];
      let a2 = b[j + 2];
      let a3 = b[j + 3];
      let c0 = a0;
      let c1 = a1;
      let c2 = a2;
      let c3 = a3;
      const w0 = j * K;
      const w1 = w0 + K;
      const w2 = w1 + K;
      const w3 = w2 + K;
      for (let i = 0; i < K; i++) {
        const p = x[xa + i];
        const q = x[xb + i];
        const v0 = wt[w0 + i];
        const v1 = wt[w1 + i];
        const v2 = wt[w2 + i];
        const v3 = wt[w3 + i];
        a0 += p * v0;
        a1 += p * v1;
        a2 += p * v2;
        a3 += p * v3;
        c0 += q * v0;
        c1 += q * v1;
        c2 += q * v2;
        c3 += q * v3;
      }
      if (add) {
        out[oa + j] += a0;
        out[oa + j + 1] += a1;
        out[oa + j + 2] += a2;
        out[oa + j + 3] += a3;
        out[ob + j] += c0;
        out[ob + j + 1] += c1;
        out[ob + j + 2] += c2;
        out[ob + j + 3] += c3;
      } else {
        out[oa + j] = a0;
        out[oa + j + 1] = a1;
        out[oa + j + 2] = a2;
        out[oa + j + 3] = a3;
        out[ob + j] = c0;
        out[ob + j + 1] = c1;
        out[ob + j + 2] = c2;
        out[ob + j + 3] = c3;
      }
    }
    for (; j < j1; j++) {
      let a = b[j];
      let c = b[j];
      const w = j * K;
      for (let i = 0; i < K; i++) {
        a += x[xa + i] * wt[w + i];
        c += x[xb + i] * wt[w + i];
      }
      out[oa + j] = add ? out[oa + j] + a : a;
      out[ob + j] = add ? out[ob + j] + c : c;
    }
  }
  if (r < rows) {
    const xa = xOffset + r * K;
    const oa = r * outStride;
    let j = j0;
    for (; j < j4; j += 4) {
      let a0 = b[j];
      let a1 = b[j + 1];
      let a2 = b[j + 2];
      let a3 = b[j + 3];
      const w0 = j * K;
      const w1 = w0 + K;
      const w2 = w1 + K;
      const w3 = w2 + K;
      for (let i = 0; i < K; i++) {
        const p = x[xa + i];
        a0 += p * wt[w0 + i];
        a1 += p * wt[w1 + i];
        a2 += p * wt[w2 + i];
        a3 += p * wt[w3 + i];
      }
      if (add) {
        out[oa + j] += a0;
        out[oa + j + 1] += a1;
        out[oa + j + 2] += a2;
        out[oa + j + 3] += a3;
      } else {
        out[oa + j] = a0;
        out[oa + j + 1] = a1;
        out[oa + j + 2] = a2;
        out[oa + j + 3] = a3;
      }
    }
    for (; j < j1; j++) {
      let a = b[j];
      const w = j * K;
      for (let i = 0; i < K; i++) a += x[xa + i] * wt[w + i];
      out[oa + j] = add ? out[oa + j] + a : a;
    }
  }
}

/** Layer norm of `rows` rows of width n, from x[xOffset…] to out[0…]. */
function layerNorm(
  x: Float64Array,
  xOffset: number,
  rows: number,
  n: number,
  { gamma, beta }: Norm<Float64Array>,
  out: Float64Array,
): void {
  for (let r = 0; r < rows; r++) {
    const o = xOffset + r * n;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[o + i];
    mean /= n;
    let variance = 0;
    for (let i = 0; i < n; i++) variance += (x[o + i] - mean) * (x[o + i] - mean);
    const inv = 1 / Math.sqrt(variance / n + 1e-5);
    const p = r * n;
    for (let i = 0; i < n; i++) out[p + i] = (x[o + i] - mean) * inv * gamma[i] + beta[i];
  }
}

/** GELU as the model computes it: x·σ(1.702x), on the first `count` values, in place. */
function gelu(x: Float64Array, count: number): void {
  for (let i = 0; i < count; i++) x[i] = x[i] / (1 + Math.exp(-1.702 * x[i]));
}

/** Softmax of x[offset, offset + n) into out[outOffset…] (x is overwritten). */
function softmaxInto(x: Float64Array, offset: number, n: number, out: Float32Array, outOffset: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (x[offset + i] > max) max = x[offset + i];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(x[offset + i] - max);
    x[offset + i] = e; // x is scratch: one exp per value
    sum += e;
  }
  for (let i = 0; i < n; i++) out[outOffset + i] = x[offset + i] / sum;
}

/** Row `id` of an embedding table of the given width (a one-row table broadcasts, as in the tfjs model). */
function rowOffset(table: Float64Array, id: number, width: number): number {
  return table.length === width ? 0 : id * width;
}

/** Scratch buffers, sized for a block of a whole context. */
class Scratch {
  readonly x: Float64Array;
  readonly h: Float64Array;
  readonly qkv: Float64Array;
  readonly merged: Float64Array;
  readonly rows: Float64Array;
  readonly ff: Float64Array;
  readonly scores: Float64Array;
  readonly picked: Int32Array;
  constructor(c: BehaveGPTConfig) {
    const d = modelWidth(c);
    const T = c.contextLength;
    this.x = new Float64Array(T * d);
    this.h = new Float64Array(T * d);
    this.qkv = new Float64Array(T * 3 * d);
    this.merged = new Float64Array(T * d);
    this.rows = new Float64Array(T * d);
    this.ff = new Float64Array(T * c.mlpRatio * d);
    this.scores = new Float64Array(T);
    this.picked = new Int32Array(T);
  }
}

export class CpuDecoder {
  readonly config: BehaveGPTConfig;
  private readonly w: Weights;
  private readonly keys: Float64Array[];
  private readonly values: Float64Array[];
  private readonly special: number[];
  private readonly s: Scratch;
  /** Head buffers, grown to the most rows a call has asked for. */
  private headIn = new Float64Array(0);
  private headHidden = new Float64Array(0);
  private logits = new Float64Array(0);
  private count = 0;

  private constructor(config: BehaveGPTConfig, weights: Weights) {
    this.config = config;
    this.w = weights;
    const d = modelWidth(config);
    this.keys = Array.from({ length: config.numLayers }, () => new Float64Array(config.contextLength * d));
    this.values = Array.from({ length: config.numLayers }, () => new Float64Array(config.contextLength * d));
    this.special = [...config.specialBehaviorIds];
    this.s = new Scratch(config);
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
      const p = bindParameters(model.config, (name, spec) => {
        const copy = copies.get(name);
        const size = spec.shape.reduce((a, b) => a * b, 1);
        if (copy?.length !== size)
          throw new Error(`CpuDecoder: parameter "${name}" has ${copy?.length ?? 0} values, config needs ${size}`);
        return copy;
      });
      weights = {
        embed: p.embed,
        layers: p.blocks.map((b) => ({
          ln1: b.ln1,
          qkv: linear(b.qkv),
          attnOut: linear(b.attnOut),
          ln2: b.ln2,
          fc: linear(b.fc),
          proj: linear(b.proj),
        })),
        lnf: p.lnf,
        target: p.target,
        head: { fc: linear(p.head.fc), out: linear(p.head.out) },
        time: p.time ? { fc: linear(p.time.fc), out: linear(p.time.out) } : undefined,
      };
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
    if (!(Number.isInteger(length) && length >= 0 && length <= this.count))
      throw new Error(`CpuDecoder: cannot truncate ${this.count} tokens to ${length}`);
    this.count = length;
  }

  /**
   * Runs one token at the next position, caching its keys/values; returns its final hidden state.
   * With `attention` (numLayers × numHeads × (position + 1) values), also writes the token's
   * attention weights over positions 0…position, layer-major then head (model/explain.ts).
   */
  push(token: TokenIds, attention?: Float64Array): Float64Array {
    const hidden = new Float64Array(modelWidth(this.config));
    this.block(single(token), 0, 1, ALL_ROWS, hidden, attention);
    return hidden;
  }

  /**
   * Caches the token's keys and values in every layer without finishing its own output (the
   * last layer's attention and feed-forward): for tokens whose hidden state nobody reads, such
   * as the middle of a history recomputed for an explanation (model/explain.ts).
   */
  pushKeys(token: TokenIds): void {
    this.block(single(token), 0, 1, NO_ROWS, null);
  }

  /**
   * Appends tokens [start, start + n) of `tokens` to the cache in one block and writes the final
   * hidden states of the block rows listed in `outputs` (ascending; block-relative) to `hidden`,
   * one row of width modelWidth per listed row, in order. Rows not listed get only their keys
   * and values in the last layer.
   */
  pushBlock(tokens: TokenColumns, start: number, n: number, outputs: ArrayLike<number>, hidden: Float64Array): void {
    this.block(tokens, start, n, outputs, hidden);
  }

  private block(
    tokens: TokenColumns,
    start: number,
    n: number,
    outputs: ArrayLike<number> | typeof ALL_ROWS,
    hidden: Float64Array | null,
    attention?: Float64Array,
  ): void {
    const c = this.config;
    const d = modelWidth(c);
    const pos0 = this.count;
    if (pos0 + n > c.contextLength)
      throw new Error(`CpuDecoder: ${pos0 + n} tokens exceed the context length ${c.contextLength}`);
    const { embed, layers, lnf } = this.w;
    const s = this.s;
    const x = s.x;
    // Input: the concatenated stream embeddings plus the position embedding.
    for (let r = 0; r < n; r++) {
      const t = start + r;
      const o = r * d;
      let k = o;
      const copy = (table: Float64Array | undefined, id: number, width: number) => {
        if (!table) return;
        const from = rowOffset(table, id, width);
        for (let i = 0; i < width; i++) x[k++] = table[from + i];
      };
      copy(embed.behavior, tokens.behaviors[t], c.behaviorDim);
      copy(embed.weekday, tokens.weekdays[t], c.weekdayDim);
      copy(embed.slot, tokens.slots[t], c.slotDim);
      copy(embed.location, tokens.locations[t], c.locationDim);
      const p = rowOffset(embed.position, pos0 + r, d);
      for (let i = 0; i < d; i++) x[o + i] += embed.position[p + i];
    }

    // Rows that go through the whole last layer (block-relative), ascending.
    const picked = s.picked;
    let m: number;
    if (outputs === ALL_ROWS) {
      for (let r = 0; r < n; r++) picked[r] = r;
      m = n;
    } else {
      m = outputs.length;
      for (let k = 0; k < m; k++) {
        const r = outputs[k];
        if (!(r >= 0 && r < n) || (k > 0 && r <= picked[k - 1]))
          throw new Error(`CpuDecoder: output rows must ascend within the block of ${n}`);
        picked[k] = r;
      }
    }

    const H = c.numHeads;
    const dh = d / H;
    const scale = 1 / Math.sqrt(dh);
    const { h, qkv, merged, rows, ff, scores } = s;
    let current = x; // the rows still computed: all of them before the last layer, then the picked ones
    for (let l = 0; l < layers.length; l++) {
      const layer = layers[l];
      const last = l === layers.length - 1;
      const active = last ? m : n;
      layerNorm(current, 0, n, d, layer.ln1, h);
      if (!last || m === n) matmul(h, 0, n, layer.qkv, qkv, 3 * d);
      else {
        matmul(h, 0, n, layer.qkv, qkv, 3 * d, false, d, 3 * d);
        for (let k = 0; k < m; k++)
          matmul(h, picked[k] * d, 1, layer.qkv, qkv.subarray(picked[k] * 3 * d), 3 * d, false, 0, d);
      }
      const keys = this.keys[l];
      const values = this.values[l];
      for (let r = 0; r < n; r++) {
        keys.set(qkv.subarray(r * 3 * d + d, r * 3 * d + 2 * d), (pos0 + r) * d);
        values.set(qkv.subarray(r * 3 * d + 2 * d, r * 3 * d + 3 * d), (pos0 + r) * d);
      }
      if (active === 0) break;
      // Attention of each active row over positions 0…its own.
      merged.fill(0, 0, active * d);
      for (let k = 0; k < active; k++) {
        const r = last ? picked[k] : k;
        const pos = pos0 + r;
        const q = r * 3 * d;
        for (let head = 0; head < H; head++) {
          const o = head * dh;
          let max = -Infinity;
          for (let t = 0; t <= pos; t++) {
            const base = t * d + o;
            let sc = 0;
            for (let i = 0; i < dh; i++) sc += qkv[q + o + i] * keys[base + i];
            scores[t] = sc * scale;
            if (scores[t] > max) max = scores[t];
          }
          let sum = 0;
          for (let t = 0; t <= pos; t++) sum += scores[t] = Math.exp(scores[t] - max);
          if (attention && r === n - 1)
            for (let t = 0; t <= pos; t++) attention[(l * H + head) * (pos + 1) + t] = scores[t] / sum;
          const mo = k * d + o;
          for (let t = 0; t <= pos; t++) {
            const a = scores[t] / sum;
            const base = t * d + o;
            for (let i = 0; i < dh; i++) merged[mo + i] += a * values[base + i];
          }
        }
      }
      // The last layer continues with the picked rows only, gathered into `rows`.
      if (last && m !== n) {
        for (let k = 0; k < m; k++) rows.set(current.subarray(picked[k] * d, picked[k] * d + d), k * d);
        current = rows;
      }
      matmul(merged, 0, active, layer.attnOut, current, d, true);
      layerNorm(current, 0, active, d, layer.ln2, h);
      matmul(h, 0, active, layer.fc, ff, layer.fc.outputs);
      gelu(ff, active * layer.fc.outputs);
      matmul(ff, 0, active, layer.proj, current, d, true);
    }
    this.count += n;
    if (hidden && m > 0) layerNorm(current, 0, m, d, lnf, hidden);
  }

  /** Head buffers for `rows` rows. */
  private headBuffers(rows: number): void {
    const c = this.config;
    if (this.logits.length >= rows * Math.max(c.numBehaviors, NUM_SLOT_DELTAS)) return;
    this.headIn = new Float64Array(rows * headInputWidth(c));
    this.headHidden = new Float64Array(rows * Math.max(c.headHidden, c.timeHidden ?? 64));
    this.logits = new Float64Array(rows * Math.max(c.numBehaviors, NUM_SLOT_DELTAS));
  }

  /**
   * Behavior distributions of `rows` hidden states (row-major in `hidden`), each for the next
   * event at targets(k), written to out[outOffset + k·numBehaviors…].
   */
  behaviorRows(
    hidden: Float64Array,
    rows: number,
    targets: (k: number) => TargetIds,
    out: Float32Array,
    outOffset = 0,
  ): void {
    const c = this.config;
    const d = modelWidth(c);
    const { target, head } = this.w;
    this.headBuffers(rows);
    let input = hidden;
    if (target) {
      const width = headInputWidth(c);
      const tdim = c.targetDim;
      input = this.headIn;
      for (let k = 0; k < rows; k++) {
        const o = k * width;
        for (let i = 0; i < d; i++) input[o + i] = hidden[k * d + i];
        const next = targets(k);
        const tw = rowOffset(target.weekday, next.weekday, tdim);
        const ts = rowOffset(target.slot, next.slot, tdim);
        const tl = rowOffset(target.location, next.location, tdim);
        for (let i = 0; i < tdim; i++) {
          input[o + d + i] = target.weekday[tw + i];
          input[o + d + tdim + i] = target.slot[ts + i];
          input[o + d + 2 * tdim + i] = target.location[tl + i];
        }
      }
    }
    const V = c.numBehaviors;
    matmul(input, 0, rows, head.fc, this.headHidden, head.fc.outputs);
    gelu(this.headHidden, rows * head.fc.outputs);
    matmul(this.headHidden, 0, rows, head.out, this.logits, V);
    for (let k = 0; k < rows; k++) {
      for (const id of this.special) this.logits[k * V + id] += -1e9;
      softmaxInto(this.logits, k * V, V, out, outOffset + k * V);
    }
  }

  /** Time-head distributions over slot deltas of `rows` hidden states, written to out[k·56…]. */
  timeRows(hidden: Float64Array, rows: number, out: Float32Array, outOffset = 0): void {
    const time = this.w.time;
    if (!time) throw new Error('CpuDecoder: the model has no time head');
    if (time.out.outputs !== NUM_SLOT_DELTAS) throw new Error(`CpuDecoder: time head has ${time.out.outputs} outputs`);
    this.headBuffers(rows);
    matmul(hidden, 0, rows, time.fc, this.headHidden, time.fc.outputs);
    gelu(this.headHidden, rows * time.fc.outputs);
    matmul(this.headHidden, 0, rows, time.out, this.logits, NUM_SLOT_DELTAS);
    for (let k = 0; k < rows; k++)
      softmaxInto(this.logits, k * NUM_SLOT_DELTAS, NUM_SLOT_DELTAS, out, outOffset + k * NUM_SLOT_DELTAS);
  }

  /** The time head's distribution over slot deltas to the next event. */
  timeProbabilities(hidden: Float64Array): Float32Array {
    const out = new Float32Array(NUM_SLOT_DELTAS);
    this.timeRows(hidden, 1, out);
    return out;
  }

  /** The behavior distribution for a next event at the given weekday/slot/location ids. */
  behaviorProbabilities(hidden: Float64Array, next: TargetIds): Float32Array {
    const out = new Float32Array(this.config.numBehaviors);
    this.behaviorRows(hidden, 1, () => next, out);
    return out;
  }

  /**
   * Behavior distributions at flat token positions (b·T + t) of a batch, each row of the batch
   * read as its own window from <bos> (as the tfjs model reads it): out is [positions × numBehaviors]
   * in the order given. Each row is computed once, up to its last asked-for token.
   */
  batchProbabilities(
    batch: Batch,
    positions: ArrayLike<number>,
    out = new Float32Array(positions.length * this.config.numBehaviors),
  ): Float32Array {
    const T = batch.length;
    const d = modelWidth(this.config);
    const V = this.config.numBehaviors;
    const order = Array.from({ length: positions.length }, (_, i) => i).sort((a, b) => positions[a] - positions[b]);
    const hidden = new Float64Array(T * d);
    const outputs: number[] = [];
    const slots: number[] = [];
    const rowProbs = new Float32Array(T * V);
    for (let k = 0; k < order.length; ) {
      const row = Math.floor(positions[order[k]] / T);
      if (!(row >= 0 && row < batch.batchSize))
        throw new Error(
          `CpuDecoder: position ${positions[order[k]]} is outside the batch of ${batch.batchSize} × ${T}`,
        );
      outputs.length = 0;
      slots.length = 0;
      for (; k < order.length && Math.floor(positions[order[k]] / T) === row; k++) {
        const t = positions[order[k]] - row * T;
        if (outputs.at(-1) !== t) outputs.push(t);
        slots.push(order[k]);
      }
      this.reset();
      this.block(batch, row * T, outputs.at(-1)! + 1, outputs, hidden);
      const at = (i: number) => row * T + outputs[i];
      this.behaviorRows(
        hidden,
        outputs.length,
        (i) => ({
          weekday: batch.targetWeekdays[at(i)],
          slot: batch.targetSlots[at(i)],
          location: batch.targetLocations[at(i)],
        }),
        rowProbs,
      );
      for (const slot of slots) {
        const i = outputs.indexOf(positions[slot] - row * T);
        out.set(rowProbs.subarray(i * V, (i + 1) * V), slot * V);
      }
    }
    this.reset();
    return out;
  }
}

/** Marks a block whose every row is an output. */
const ALL_ROWS = Symbol('all rows');
const NO_ROWS: number[] = [];

/** One token as a block of columns. */
function single(token: TokenIds): TokenColumns {
  return { behaviors: [token.behavior], weekdays: [token.weekday], slots: [token.slot], locations: [token.location] };
}

/** Ids of <bos>, the first token of every window (as core/batch encodes it). */
export function bosIds(bosBehavior: number): TokenIds {
  return { behavior: bosBehavior, weekday: NUM_WEEKDAYS, slot: NUM_SLOTS, location: 0 };
}
