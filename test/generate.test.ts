import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend, tf } from '../src/node/tf';
import { BehaveGPT } from '../src/model/behavegpt';
import { generateAll, generateTrajectory } from '../src/model/generate';
import { NUM_SLOTS, NUM_WEEKDAYS, UNKNOWN_LOCATION } from '../src/core/events';
import { BOS, PAD, UNK, Vocabulary } from '../src/core/vocab';
import { marginalCorrection } from '../src/core/calibration';
import { behaviors, events, locations, toyConfig } from './helpers';

function randomModel(timeHead = true): BehaveGPT {
  const model = BehaveGPT.create(toyConfig({ timeHead, contextLength: 16 }), 4);
  let i = 0;
  for (const v of model.params.values()) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', 50 + i++));
  return model;
}

describe('trajectory generation', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it('is reproducible for a seed, differs across seeds, and yields valid events', async () => {
    const model = randomModel();
    const m = { model, behaviors, locations };
    const options = { prefix: events(5), maxEvents: 40, seed: 7, sampling: { temperature: 1 } };
    const a = await generateAll(m, options);
    const b = await generateAll(m, options);
    const c = await generateAll(m, { ...options, seed: 8 });
    expect(a).toHaveLength(40);
    expect(b).toEqual(a);
    expect(c.map((e) => e.behavior)).not.toEqual(a.map((e) => e.behavior));
    for (const e of a) {
      expect(behaviors.isSpecial(behaviors.id(e.behavior))).toBe(false);
      expect(e.weekday).toBeGreaterThanOrEqual(0);
      expect(e.weekday).toBeLessThan(NUM_WEEKDAYS);
      expect(e.slot).toBeGreaterThanOrEqual(0);
      expect(e.slot).toBeLessThan(NUM_SLOTS);
      expect(e.probability).toBeGreaterThan(0);
    }
    // Elapsed slots accumulate the sampled deltas.
    for (let i = 1; i < a.length; i++) expect(a[i].elapsedSlots).toBeGreaterThanOrEqual(a[i - 1].elapsedSlots);
    model.dispose();
  });

  it('cached decoding generates the same greedy trajectory as recomputing, until the context slides', async () => {
    const model = randomModel();
    const m = { model, behaviors, locations };
    // Prefix 5 + 10 generated = 15 events: within the 16-token context, so no slide yet.
    const options = {
      prefix: events(5),
      maxEvents: 10,
      seed: 1,
      sampling: { greedy: true },
      timeSampling: { greedy: true },
    };
    const cached = await generateAll(m, options);
    const recomputed = await generateAll(m, { ...options, cache: false });
    expect(cached.map((e) => [e.behavior, e.weekday, e.slot])).toEqual(
      recomputed.map((e) => [e.behavior, e.weekday, e.slot]),
    );
    for (let i = 0; i < cached.length; i++)
      expect(Math.abs(cached[i].probability - recomputed[i].probability)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('starts at the given time, stops at the horizon, and slides past the context without leaking tensors', async () => {
    const model = randomModel();
    const m = { model, behaviors, locations };
    const before = tf.memory().numTensors;
    const long = await generateAll(m, { prefix: [], start: { weekday: 2, slot: 5 }, maxEvents: 60, seed: 3 });
    expect(long).toHaveLength(60); // 60 events through a 16-token context: several slides
    expect([long[0].weekday, long[0].slot, long[0].elapsedSlots, long[0].timeProbability]).toEqual([2, 5, 0, 1]);
    const horizon = await generateAll(m, { prefix: events(3), maxEvents: 500, horizonSlots: 56, seed: 3 });
    expect(horizon.length).toBeLessThan(500);
    expect(Math.max(...horizon.map((e) => e.elapsedSlots))).toBeLessThanOrEqual(56);
    // Stopping mid-stream (as the app's Stop button does) releases the cache too.
    const controller = new AbortController();
    let seen = 0;
    for await (const _ of generateTrajectory(m, {
      prefix: events(4),
      maxEvents: 100,
      seed: 2,
      signal: controller.signal,
    })) {
      if (++seen === 5) controller.abort();
    }
    expect(seen).toBe(5);
    for await (const _ of generateTrajectory(m, { prefix: events(4), maxEvents: 100, seed: 2 })) break;
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('refuses a model without a time head, and an empty prefix without a start time', async () => {
    const plain = randomModel(false);
    await expect(
      generateAll({ model: plain, behaviors, locations }, { prefix: events(3), maxEvents: 2 }),
    ).rejects.toThrow('generate: this model has no time head');
    plain.dispose();
    const model = randomModel();
    await expect(generateAll({ model, behaviors, locations }, { prefix: [], maxEvents: 2 })).rejects.toThrow(
      'generate: an empty prefix needs a start time',
    );
    model.dispose();
  });
});

describe('sampling correction in generation', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it('a large negative correction removes a behavior from the samples', async () => {
    const model = randomModel();
    const m = { model, behaviors, locations };
    const banned = behaviors.name(4);
    const options = { prefix: events(5), maxEvents: 60, seed: 5 };
    const plain = await generateAll(m, options);
    const corrected = await generateAll(m, { ...options, behaviorLogCorrection: { [banned]: -50 } });
    expect(plain.some((e) => e.behavior === banned)).toBe(true);
    expect(corrected.some((e) => e.behavior === banned)).toBe(false);
    model.dispose();
  });
});

describe('behaviors named like built-in object members', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it('are corrected and generated like any other name ("constructor", "__proto__", "toString")', async () => {
    const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];
    const vocab = Vocabulary.fromNames(names, [PAD, BOS, UNK]);
    const mean = Float64Array.from(vocab.tokens, (_, i) => (vocab.isSpecial(i) ? 0 : 1 / names.length));
    const correction = marginalCorrection(mean, new Map(names.map((n) => [n, 10])), vocab);
    expect(Object.keys(correction).sort()).toEqual([...names].sort());
    for (const n of names) expect(Object.hasOwn(correction, n) && Number.isFinite(correction[n])).toBe(true);
    // Through JSON, as the correction travels in model.json.
    const shipped = JSON.parse(JSON.stringify(correction)) as Record<string, number>;
    const model = BehaveGPT.create(toyConfig({ timeHead: true, contextLength: 16, numBehaviors: vocab.size }), 4);
    let i = 0;
    for (const v of model.params.values()) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', 90 + i++));
    const prefix = [{ behavior: 'toString', weekday: 0, slot: 0, location: UNKNOWN_LOCATION }];
    const out = await generateAll(
      { model, behaviors: vocab, locations },
      { prefix, maxEvents: 200, seed: 3, behaviorLogCorrection: shipped },
    );
    expect(new Set(out.map((e) => e.behavior))).toEqual(new Set(names));
    model.dispose();
  });
});
