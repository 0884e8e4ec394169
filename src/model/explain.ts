/**
 * Why and when: explanations of a prediction, computed with the plain-JS decoder
 * (model/cpu-decoder.ts), whose key/value cache makes the many small forward passes cheap.
 *
 * - Why (influence): occlusion, or leave-one-out. Each event of the model's window is removed in
 *   turn (core/explain.ts `Removal`: dropped, or its behavior made `<unk>`) and the prediction is
 *   recomputed; an event's influence on behavior X is P(X | history) − P(X | history without it).
 *   The passes share the decoder's cache: removing the event at position i leaves positions < i
 *   unchanged, so only positions ≥ i are recomputed (528 token passes for 32 events, not 1,056),
 *   and of those only the last one in full: the others only need their keys and values.
 * - Why (attention): the weights the prediction token puts on each event, per layer and head.
 *   A second view, not a measure of influence: `npm run explain-eval` tests both (docs/EXPLAIN.md).
 * - When: the behavior head reads the time of the event it predicts, so one hidden state and 56
 *   head passes give P(X | next event at t) for every weekday × slot cell t; the time head gives
 *   P(next event at t), and their product the joint P(next event is X at t).
 */
import {
  DEFAULT_REMOVAL,
  deltasToCells,
  removeEvents,
  topJoint,
  cellTime,
  WEEK_CELLS,
  type Removal,
} from '../core/explain';
import type { BehaviorEvent, EventContext } from '../core/events';
import { topK } from '../core/sampling';
import { BOS, type Vocabulary } from '../core/vocab';
import type { BehaveGPT } from './behavegpt';
import { bosIds, CpuDecoder, type TokenIds } from './cpu-decoder';

export interface ExplainModel {
  model: BehaveGPT;
  behaviors: Vocabulary;
  locations: Vocabulary;
}

export interface EventInfluence {
  /** Index of the event in the history passed in. */
  index: number;
  /** P(behavior) with this event removed. */
  without: number;
  /** P(behavior) − `without`: positive where the event makes the behavior more likely. */
  influence: number;
}

export interface AttentionView {
  layers: number;
  heads: number;
  /** weights[layer][head][i]: the prediction token's attention on event i of the window. */
  weights: number[][][];
  /** start[layer][head]: its attention on the start token <bos> (the rest of each row). */
  start: number[][];
  /** Per window event, the mean over the last layer's heads: the ranking the deletion test gives "attention". */
  score: number[];
}

export interface Explanation {
  behavior: string;
  /** P(behavior | the whole history, at the time asked). */
  probability: number;
  removal: Removal;
  /** Index in the history of the window's first event: earlier events are outside the context and do not count. */
  offset: number;
  /** One entry per window event, in history order. */
  influence: EventInfluence[];
  attention: AttentionView;
}

export interface WeekCell {
  weekday: number;
  slot: number;
  /** P(next event is the behavior | it happens in this cell). */
  probability: number;
  /** The most likely behavior if the next event happens in this cell. */
  top: { behavior: string; probability: number };
}

export interface WhenMap {
  behavior: string;
  /** 56 cells, weekday-major (Monday 00–03 h first). */
  cells: WeekCell[];
  /**
   * The time head: P(next event happens in the cell), from the last event's time plus the
   * predicted slot delta. Null for an empty history (no time to count from) or a model without a time head.
   */
  time: number[] | null;
  /** P(next event is the behavior and happens in the cell) = time × probability. */
  joint: number[] | null;
  /** Σ joint: P(the next event is the behavior, whenever it happens). */
  total: number | null;
  /** The 5 most likely (behavior, weekday, slot) of the joint over all behaviors. */
  topJoint: { behavior: string; weekday: number; slot: number; probability: number }[];
}

/** The number of (behavior, cell) pairs WhenMap.topJoint lists. */
export const TOP_JOINT = 5;

function sameToken(a: TokenIds, b: TokenIds): boolean {
  return a.behavior === b.behavior && a.weekday === b.weekday && a.slot === b.slot && a.location === b.location;
}

export class Explainer {
  private readonly decoder: CpuDecoder;
  private readonly behaviors: Vocabulary;
  private readonly locations: Vocabulary;
  private readonly exclude: Set<number>;
  /** Tokens now in the decoder's cache, and the hidden state after each (null where only keys and values were computed). */
  private readonly cached: TokenIds[] = [];
  private readonly hiddens: (Float64Array | null)[] = [];

  private constructor(decoder: CpuDecoder, m: ExplainModel) {
    this.decoder = decoder;
    this.behaviors = m.behaviors;
    this.locations = m.locations;
    this.exclude = new Set(m.model.config.specialBehaviorIds);
  }

  static async create(m: ExplainModel): Promise<Explainer> {
    return new Explainer(await CpuDecoder.fromModel(m.model), m);
  }

  get contextLength(): number {
    return this.decoder.config.contextLength;
  }

  /** Index in `history` of the first event the model reads (the last contextLength − 1 events, as encodeQuery). */
  windowStart(history: readonly BehaviorEvent[]): number {
    return Math.max(0, history.length - (this.contextLength - 1));
  }

  /** Vocabulary id of a behavior the model can predict; a clear error otherwise. */
  behaviorId(name: string): number {
    const id = this.behaviors.has(name) ? this.behaviors.id(name) : -1;
    if (id < 0 || this.behaviors.isSpecial(id)) throw new Error(`explain: "${name}" is not a behavior of this model`);
    return id;
  }

  /** <bos> and the window's events as decoder ids, encoded exactly as core/batch encodes a query. */
  private tokens(history: readonly BehaviorEvent[]): TokenIds[] {
    const window = history.slice(this.windowStart(history));
    const ids = (e: BehaviorEvent): TokenIds => ({
      behavior: this.behaviors.id(e.behavior),
      weekday: e.weekday,
      slot: e.slot,
      location: this.locations.id(e.location),
    });
    return [bosIds(this.behaviors.id(BOS)), ...window.map(ids)];
  }

  /**
   * The hidden state after the last token, reusing the cached prefix the tokens share with the
   * previous call; tokens before the last only get their keys and values. With `attention`, the
   * last token is recomputed so its weights are captured.
   */
  private run(tokens: readonly TokenIds[], attention?: Float64Array): Float64Array {
    const last = tokens.length - 1;
    let common = 0;
    const limit = Math.min(tokens.length, this.cached.length);
    while (common < limit && sameToken(tokens[common], this.cached[common])) common++;
    if (common === tokens.length && (attention || !this.hiddens[last])) common = last;
    if (common === tokens.length) return this.hiddens[last]!;
    this.decoder.truncate(common);
    this.cached.length = common;
    this.hiddens.length = common;
    for (let i = common; i < last; i++) {
      this.decoder.pushKeys(tokens[i]);
      this.hiddens.push(null);
      this.cached.push(tokens[i]);
    }
    const hidden = this.decoder.push(tokens[last], attention);
    this.hiddens.push(hidden);
    this.cached.push(tokens[last]);
    return hidden;
  }

  private nextIds(next: EventContext): { weekday: number; slot: number; location: number } {
    return { weekday: next.weekday, slot: next.slot, location: this.locations.id(next.location) };
  }

  /** P(· | history) for an event at `next`: the same distribution as Predictor.probabilities (tested within 1e-5). */
  probabilities(history: readonly BehaviorEvent[], next: EventContext): Float32Array {
    return this.decoder.behaviorProbabilities(this.run(this.tokens(history)), this.nextIds(next));
  }

  /** P(· | history with the events at `indices` removed). */
  probabilitiesWithout(
    history: readonly BehaviorEvent[],
    next: EventContext,
    indices: readonly number[],
    removal: Removal = DEFAULT_REMOVAL,
  ): Float32Array {
    return this.probabilities(removeEvents(history, indices, removal), next);
  }

  /**
   * Occlusion: the distribution with each window event removed in turn (history order). Runs from
   * the last event to the first, so each pass reuses the prefix the previous one left in the cache.
   */
  occlusion(
    history: readonly BehaviorEvent[],
    next: EventContext,
    removal: Removal = DEFAULT_REMOVAL,
  ): { full: Float32Array; without: Float32Array[]; offset: number } {
    const offset = this.windowStart(history);
    const full = this.probabilities(history, next);
    const without: Float32Array[] = new Array(history.length - offset);
    for (let i = history.length - 1; i >= offset; i--)
      without[i - offset] = this.probabilitiesWithout(history, next, [i], removal);
    return { full, without, offset };
  }

  /** The prediction token's attention per layer and head over <bos> and the window's events. */
  attention(history: readonly BehaviorEvent[]): AttentionView {
    const { numLayers: layers, numHeads: heads } = this.decoder.config;
    const tokens = this.tokens(history);
    const n = tokens.length;
    const captured = new Float64Array(layers * heads * n);
    this.run(tokens, captured);
    const row = (l: number, h: number) => captured.subarray((l * heads + h) * n, (l * heads + h + 1) * n);
    const weights = Array.from({ length: layers }, (_, l) =>
      Array.from({ length: heads }, (_, h) => Array.from(row(l, h).subarray(1))),
    );
    const start = Array.from({ length: layers }, (_, l) => Array.from({ length: heads }, (_, h) => row(l, h)[0]));
    const last = weights[layers - 1];
    const score = Array.from({ length: n - 1 }, (_, i) => last.reduce((sum, head) => sum + head[i], 0) / heads);
    return { layers, heads, weights, start, score };
  }

  /** Why: each window event's influence on `behavior` (occlusion) and the attention view. Deterministic. */
  explain(
    history: readonly BehaviorEvent[],
    next: EventContext,
    behavior: string,
    removal: Removal = DEFAULT_REMOVAL,
  ): Explanation {
    const id = this.behaviorId(behavior);
    const { full, without, offset } = this.occlusion(history, next, removal);
    const probability = full[id];
    const influence = without.map((p, i) => ({ index: offset + i, without: p[id], influence: probability - p[id] }));
    return { behavior, probability, removal, offset, influence, attention: this.attention(history) };
  }

  /**
   * The week grid from one hidden state: P(· | next event in cell t) for the 56 cells, and the
   * time head's P(next event in t) (null for an empty history or without a time head).
   */
  week(
    history: readonly BehaviorEvent[],
    location: string,
  ): { conditional: Float32Array[]; time: Float64Array | null } {
    const hidden = this.run(this.tokens(history));
    const locationId = this.locations.id(location);
    const conditional = Array.from({ length: WEEK_CELLS }, (_, cell) =>
      this.decoder.behaviorProbabilities(hidden, { ...cellTime(cell), location: locationId }),
    );
    const last = history.at(-1);
    const time =
      last && this.decoder.config.timeHead ? deltasToCells(this.decoder.timeProbabilities(hidden), last) : null;
    return { conditional, time };
  }

  /** When: the heatmap of `behavior` over the week, the top behavior per cell, the time head and the joint with its top 5. */
  when(history: readonly BehaviorEvent[], behavior: string, location: string): WhenMap {
    const id = this.behaviorId(behavior);
    const { conditional, time } = this.week(history, location);
    const cells = conditional.map((probs, cell) => {
      const [top] = topK(probs, 1, this.exclude);
      return {
        ...cellTime(cell),
        probability: probs[id],
        top: { behavior: this.behaviors.name(top), probability: probs[top] },
      };
    });
    const joint = time ? cells.map((c, cell) => time[cell] * c.probability) : null;
    const pairs = time ? topJoint(time, conditional, TOP_JOINT, this.exclude) : [];
    return {
      behavior,
      cells,
      time: time ? Array.from(time) : null,
      joint,
      total: joint ? joint.reduce((a, b) => a + b, 0) : null,
      topJoint: pairs.map((p) => ({
        behavior: this.behaviors.name(p.behavior),
        ...cellTime(p.cell),
        probability: p.probability,
      })),
    };
  }
}
