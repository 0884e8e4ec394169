import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend, tf } from '../src/node/tf';
import { BehaveGPT } from '../src/model/behavegpt';
import { encodeBatch, encodeQuery } from '../src/core/batch';
import { bosIds, CpuDecoder } from '../src/model/cpu-decoder';
import { Explainer } from '../src/model/explain';
import { Predictor } from '../src/model/predictor';
import {
  cellTable,
  cellTime,
  deltasToCells,
  randomEvents,
  recentEvents,
  removeEvents,
  topEvents,
  topJoint,
  WEEK_CELLS,
} from '../src/core/explain';
import { jensenShannon } from '../src/core/realism';
import { createRng } from '../src/core/random';
import { addSlots, slotDelta, weekSlot } from '../src/core/time';
import { BOS, UNK } from '../src/core/vocab';
import type { BehaviorEvent, EventContext } from '../src/core/events';
import { behaviors, event, events, locations, toyConfig } from './helpers';

/** The decoder must reproduce the tfjs model within this tolerance (as in decode.test.ts). */
const TOLERANCE = 1e-5;

/** A toy model with large random weights, so attention and influence are far from uniform. */
function randomModel(seed: number, overrides = {}): BehaveGPT {
  const model = BehaveGPT.create(toyConfig({ contextLength: 16, timeHead: true, ...overrides }), seed);
  let i = 0;
  for (const v of model.params.values()) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', seed * 1000 + i++));
  return model;
}

/** The tfjs model's behavior and time distributions for `history` at `next` (the reference). */
function reference(
  model: BehaveGPT,
  history: readonly BehaviorEvent[],
  next: EventContext,
): { behavior: Float32Array; time: Float32Array } {
  const { batch, position } = encodeQuery(history, next, behaviors, locations, model.config.contextLength);
  return tf.tidy(() => {
    const out = model.outputs(batch, { positions: tf.tensor1d([position], 'int32') });
    return {
      behavior: tf.softmax(out.behavior).dataSync() as Float32Array,
      time: tf.softmax(out.time!).dataSync() as Float32Array,
    };
  });
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const mixed = (n: number, offset = 0) =>
  events(n, offset).map((e, i) => ({ ...e, location: ['home', 'office', '<unknown>'][i % 3] }));

describe('explanations: the pure parts', () => {
  it('removes events by dropping them or making their behavior <unk>, and refuses indices outside the history', () => {
    const h = events(4);
    expect(removeEvents(h, [1, 3], 'drop')).toEqual([h[0], h[2]]);
    expect(removeEvents(h, [1], 'unknown')).toEqual([h[0], { ...h[1], behavior: UNK }, h[2], h[3]]);
    expect(removeEvents(h, [], 'drop')).toEqual(h);
    expect(() => removeEvents(h, [4], 'drop')).toThrow('removeEvents: index 4 is outside the history (0–3)');
  });

  it('picks the top-scored, the most recent or random distinct events', () => {
    expect(topEvents([0.1, 0.5, -0.2, 0.5, 0.3], 3)).toEqual([3, 1, 4]); // a tie goes to the more recent event
    expect(recentEvents(5, 2)).toEqual([4, 3]);
    expect(recentEvents(1, 3)).toEqual([0]);
    const rng = createRng(4);
    const seen = new Set<number>();
    for (let r = 0; r < 200; r++) {
      const picked = randomEvents(6, 3, rng);
      expect(new Set(picked).size).toBe(3);
      for (const i of picked) {
        expect(i).toBeGreaterThanOrEqual(0);
        expect(i).toBeLessThan(6);
        seen.add(i);
      }
    }
    expect(seen.size).toBe(6);
    expect(randomEvents(6, 3, createRng(9))).toEqual(randomEvents(6, 3, createRng(9)));
  });

  it("maps the time head's slot deltas onto the week's cells after the last event", () => {
    const deltas = Float64Array.from({ length: WEEK_CELLS }, (_, d) => d + 1);
    const last = { weekday: 6, slot: 5 };
    const cells = deltasToCells(deltas, last);
    for (let d = 0; d < WEEK_CELLS; d++) expect(cells[weekSlot(addSlots(last, d))]).toBe(d + 1);
    expect(cells[weekSlot(last)]).toBe(1); // delta 0: the same slot
    expect(cells[weekSlot({ weekday: 0, slot: 0 })]).toBe(slotDelta(last, { weekday: 0, slot: 0 }) + 1);
    for (let c = 0; c < WEEK_CELLS; c++) expect(weekSlot(cellTime(c))).toBe(c);
    expect(() => deltasToCells([1, 2], last)).toThrow('deltasToCells: 2 deltas, expected 56');
  });

  it('lists the top pairs of the joint P(t)·P(b | t), as a full sort does', () => {
    const rng = createRng(2);
    const time = Float64Array.from({ length: 7 }, () => rng());
    const conditional = Array.from({ length: 7 }, () => Float64Array.from({ length: 5 }, () => rng()));
    const all = conditional
      .flatMap((row, cell) => Array.from(row, (p, behavior) => ({ behavior, cell, probability: time[cell] * p })))
      .filter((e) => e.behavior !== 0);
    all.sort((a, b) => b.probability - a.probability);
    expect(topJoint(time, conditional, 6, new Set([0]))).toEqual(all.slice(0, 6));
    // Ties: lower cell, then lower id.
    expect(
      topJoint(
        [1, 1],
        [
          [0.5, 0.5],
          [0.5, 0.5],
        ],
        3,
      ),
    ).toEqual([
      { behavior: 0, cell: 0, probability: 0.5 },
      { behavior: 1, cell: 0, probability: 0.5 },
      { behavior: 0, cell: 1, probability: 0.5 },
    ]);
  });

  it("compares week vectors with the project's Jensen–Shannon divergence (bits)", () => {
    expect(jensenShannon(cellTable([1, 0, 0]), cellTable([0, 0, 2]))).toBeCloseTo(1, 12);
    expect(jensenShannon(cellTable([1, 2, 3]), cellTable([2, 4, 6]))).toBeCloseTo(0, 12);
  });
});

describe('explanations on the plain-JS decoder', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it("captures attention weights equal to the tfjs model's, per layer, head and position, at no change to the hidden states", async () => {
    const model = randomModel(7, { numLayers: 2, numHeads: 2 });
    const seq = mixed(12);
    const batch = encodeBatch(
      [{ events: [...seq, event(12)], firstTarget: 0, sequenceId: 's', offset: 0 }],
      behaviors,
      locations,
    );
    const T = batch.length;
    const reference = await model.attentionWeights(batch);
    expect(reference).toHaveLength(2);
    const decoder = await CpuDecoder.fromModel(model);
    const plain = await CpuDecoder.fromModel(model);
    const { numLayers: L, numHeads: H } = model.config;
    const tokens = [
      bosIds(behaviors.id(BOS)),
      ...seq.map((e) => ({
        behavior: behaviors.id(e.behavior),
        weekday: e.weekday,
        slot: e.slot,
        location: locations.id(e.location),
      })),
    ];
    let worst = 0;
    tokens.forEach((token, t) => {
      const captured = new Float64Array(L * H * (t + 1));
      const hidden = decoder.push(token, captured);
      expect(Array.from(hidden)).toEqual(Array.from(plain.push(token))); // capturing changes nothing
      for (let l = 0; l < L; l++)
        for (let h = 0; h < H; h++) {
          const row = captured.subarray((l * H + h) * (t + 1), (l * H + h + 1) * (t + 1));
          expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
          const ref = reference[l].subarray((h * T + t) * T, (h * T + t) * T + t + 1);
          worst = Math.max(worst, maxDifference(row, ref));
        }
    });
    expect(worst).toBeLessThan(TOLERANCE);
    model.dispose();
  });

  it('truncating the cache and pushing again, or pushing keys only, gives the same hidden states as a fresh decoder', async () => {
    const model = randomModel(3);
    const decoder = await CpuDecoder.fromModel(model);
    const ids = (e: BehaviorEvent) => ({
      behavior: behaviors.id(e.behavior),
      weekday: e.weekday,
      slot: e.slot,
      location: locations.id(e.location),
    });
    const a = mixed(8);
    const b = mixed(8, 3);
    decoder.push(bosIds(behaviors.id(BOS)));
    for (const e of a) decoder.push(ids(e));
    decoder.truncate(4);
    let hidden: Float64Array = new Float64Array();
    for (const e of b.slice(3)) hidden = decoder.push(ids(e));
    const fresh = await CpuDecoder.fromModel(model);
    let expected = fresh.push(bosIds(behaviors.id(BOS)));
    for (const e of [...a.slice(0, 3), ...b.slice(3)]) expected = fresh.push(ids(e));
    expect(Array.from(hidden)).toEqual(Array.from(expected));
    expect(() => decoder.truncate(20)).toThrow('CpuDecoder: cannot truncate 9 tokens to 20');
    // Tokens pushed for their keys and values only leave the same cache as full pushes.
    decoder.truncate(1);
    for (const e of b.slice(0, 7)) decoder.pushKeys(ids(e));
    const keysOnly = decoder.push(ids(b[7]));
    fresh.reset();
    fresh.push(bosIds(behaviors.id(BOS)));
    let full: Float64Array = new Float64Array();
    for (const e of b) full = fresh.push(ids(e));
    expect(Array.from(keysOnly)).toEqual(Array.from(full));
    model.dispose();
  });

  it('occlusion equals recomputing the tfjs model on each history with one event removed, for both removals and a sliding window', async () => {
    const model = randomModel(11);
    const explainer = await Explainer.create({ model, behaviors, locations });
    const next = { weekday: 3, slot: 6, location: 'home' };
    let worst = 0;
    // 20 events exceed the window of 15: dropping an event lets the one before the window in.
    for (const history of [mixed(9), mixed(20, 2), mixed(1)])
      for (const removal of ['drop', 'unknown'] as const) {
        const { full, without, offset } = explainer.occlusion(history, next, removal);
        expect(offset).toBe(Math.max(0, history.length - 15));
        expect(without).toHaveLength(history.length - offset);
        worst = Math.max(worst, maxDifference(full, reference(model, history, next).behavior));
        without.forEach((probs, i) => {
          worst = Math.max(
            worst,
            maxDifference(probs, reference(model, removeEvents(history, [offset + i], removal), next).behavior),
          );
        });
      }
    expect(worst).toBeLessThan(TOLERANCE);
    model.dispose();
  });

  it('explanations are deterministic and do not depend on what was computed before', async () => {
    const model = randomModel(5);
    const a = await Explainer.create({ model, behaviors, locations });
    const b = await Explainer.create({ model, behaviors, locations });
    const history = mixed(10);
    const next = { weekday: 1, slot: 2, location: 'office' };
    const first = a.explain(history, next, 'Fan:switch on');
    // Fill b's cache with other work first: a shared prefix, another history, a heatmap.
    b.explain(mixed(12), next, 'Light:switch on');
    b.when(history.slice(0, 6), 'Fan:switch on', 'home');
    expect(b.explain(history, next, 'Fan:switch on')).toEqual(first);
    expect(a.explain(history, next, 'Fan:switch on')).toEqual(first);
    expect(a.when(history, 'Fan:switch on', 'home')).toEqual(b.when(history, 'Fan:switch on', 'home'));
    // Influence is P(full) − P(without), and the attention rows sum to 1 with <bos>.
    expect(first.influence).toHaveLength(10);
    for (const e of first.influence) expect(e.influence).toBeCloseTo(first.probability - e.without, 12);
    expect(first.influence.some((e) => Math.abs(e.influence) > 1e-3)).toBe(true);
    const { weights, start, score } = first.attention;
    for (let l = 0; l < 2; l++)
      for (let h = 0; h < 2; h++) expect(weights[l][h].reduce((s, w) => s + w, start[l][h])).toBeCloseTo(1, 10);
    expect(score).toEqual(weights[1][0].map((w, i) => (w + weights[1][1][i]) / 2));
    expect(() => a.explain(history, next, 'Toaster:switch on')).toThrow(
      'explain: "Toaster:switch on" is not a behavior of this model',
    );
    expect(() => a.explain(history, next, '<bos>')).toThrow('explain: "<bos>" is not a behavior of this model');
    model.dispose();
  });

  it('the week heatmap, time head and joint equal the tfjs model cell by cell', async () => {
    const model = randomModel(13);
    const explainer = await Explainer.create({ model, behaviors, locations });
    const history = mixed(7);
    const behavior = 'Television:switch on';
    const id = behaviors.id(behavior);
    const map = explainer.when(history, behavior, 'office');
    expect(map.cells).toHaveLength(56);
    const last = history.at(-1)!;
    const timeRef = reference(model, history, { weekday: 0, slot: 0, location: 'office' }).time;
    let worst = 0;
    map.cells.forEach((cell, c) => {
      expect(weekSlot(cell)).toBe(c);
      const ref = reference(model, history, { weekday: cell.weekday, slot: cell.slot, location: 'office' }).behavior;
      worst = Math.max(worst, Math.abs(cell.probability - ref[id]));
      const best = Math.max(...Array.from(ref).filter((_, i) => !behaviors.isSpecial(i)));
      worst = Math.max(worst, Math.abs(cell.top.probability - best));
      worst = Math.max(worst, Math.abs(map.time![c] - timeRef[slotDelta(last, cell)]));
      expect(map.joint![c]).toBeCloseTo(map.time![c] * cell.probability, 12);
    });
    expect(worst).toBeLessThan(TOLERANCE);
    expect(map.time!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(map.total).toBeCloseTo(
      map.joint!.reduce((a, b) => a + b, 0),
      12,
    );
    // The top-5 pairs of the joint over every behavior: the first is at least this behavior's best cell.
    expect(map.topJoint).toHaveLength(5);
    expect(map.topJoint[0].probability).toBeGreaterThanOrEqual(Math.max(...map.joint!) - 1e-12);
    for (let i = 1; i < 5; i++)
      expect(map.topJoint[i].probability).toBeLessThanOrEqual(map.topJoint[i - 1].probability);
    // Without a history there is no time to count from: the heatmap only.
    const empty = explainer.when([], behavior, 'home');
    expect(empty.time).toBeNull();
    expect(empty.joint).toBeNull();
    expect(empty.topJoint).toEqual([]);
    expect(empty.cells[10].probability).toBeCloseTo(
      reference(model, [], { weekday: 1, slot: 2, location: 'home' }).behavior[id],
      5,
    );
    model.dispose();
  });

  it('the Predictor explains its own top-1 by default, with the probability it predicts', async () => {
    const model = randomModel(17);
    const predictor = new Predictor(
      { model, behaviors, locations, manifest: { weightsManifest: [], name: 'toy', training: {} } as never },
      { name: 'wasm', reason: 'test', measuredMs: {} },
      { manifestText: '{}', shards: [] },
    );
    const history = mixed(6);
    const next = { weekday: 5, slot: 7, location: 'home' };
    const [top] = await predictor.predictNext(history, next, { k: 1 });
    const explanation = await predictor.explain(history, next);
    expect(explanation.behavior).toBe(top.behavior);
    expect(Math.abs(explanation.probability - top.probability)).toBeLessThan(TOLERANCE);
    expect(explanation.removal).toBe('drop');
    const when = await predictor.when(history, top.behavior, { location: next.location });
    expect(Math.abs(when.cells[weekSlot(next)].probability - top.probability)).toBeLessThan(TOLERANCE);
    // The place defaults to the last event's ('<unknown>' here), which changes the prediction.
    const elsewhere = await predictor.when(history, top.behavior);
    const atUnknown = await predictor.predictNext(history, { ...next, location: '<unknown>' }, { k: 126 });
    expect(
      Math.abs(
        elsewhere.cells[weekSlot(next)].probability - atUnknown.find((p) => p.behavior === top.behavior)!.probability,
      ),
    ).toBeLessThan(TOLERANCE);
    await expect(predictor.explain(history, next, { behavior: 'Toaster:switch on' })).rejects.toThrow(
      'explain: "Toaster:switch on" is not a behavior of this model',
    );
    model.dispose();
  });
});
