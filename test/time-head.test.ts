import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend, tf } from '../src/node/tf';
import { BehaveGPT, parameterSpecs } from '../src/model/behavegpt';
import { encodeBatch, IGNORE, timeTargets, toExamples } from '../src/core/batch';
import { addSlots, slotDelta } from '../src/core/time';
import { trainModel } from '../src/train/trainer';
import { evaluateModel } from '../src/train/evaluate';
import { behaviors, events, locations, toyConfig } from './helpers';

const sequences = Array.from({ length: 12 }, (_, i) => ({ id: `s${i}`, events: events(9 + (i % 4), i) }));

describe('time arithmetic', () => {
  it('slot deltas wrap within the week and invert addSlots', () => {
    expect(slotDelta({ weekday: 0, slot: 7 }, { weekday: 1, slot: 0 })).toBe(1);
    expect(slotDelta({ weekday: 6, slot: 7 }, { weekday: 0, slot: 0 })).toBe(1);
    expect(slotDelta({ weekday: 2, slot: 3 }, { weekday: 2, slot: 3 })).toBe(0);
    expect(slotDelta({ weekday: 2, slot: 3 }, { weekday: 2, slot: 2 })).toBe(55);
    for (let d = 0; d < 56; d++)
      expect(slotDelta({ weekday: 4, slot: 5 }, addSlots({ weekday: 4, slot: 5 }, d))).toBe(d);
    expect(addSlots({ weekday: 6, slot: 6 }, 3)).toEqual({ weekday: 0, slot: 1 });
  });

  it('time targets are the delta from the previous event, ignored at <bos> and padding', () => {
    const evs = events(4);
    const batch = encodeBatch([{ events: evs, firstTarget: 0, sequenceId: 'a', offset: 0 }], behaviors, locations, 5);
    const t = timeTargets(batch);
    expect(t[0]).toBe(IGNORE); // <bos> has no previous event
    for (let i = 1; i < 4; i++) expect(t[i]).toBe(slotDelta(evs[i - 1], evs[i]));
    expect(t[4]).toBe(IGNORE); // padding
  });
});

describe('time head', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it('adds its parameters last, leaving the seeded initialisation of the others unchanged', () => {
    const names = [...parameterSpecs(toyConfig({ timeHead: true })).keys()];
    expect(names.slice(-4)).toEqual(['time.fc.w', 'time.fc.b', 'time.out.w', 'time.out.b']);
    const plain = BehaveGPT.create(toyConfig(), 3);
    const timed = BehaveGPT.create(toyConfig({ timeHead: true }), 3);
    for (const [name, v] of plain.params)
      expect(Array.from(timed.params.get(name)!.dataSync())).toEqual(Array.from(v.dataSync()));
    plain.dispose();
    timed.dispose();
  });

  it('detached, trains the behavior model exactly as without it; joint, changes it', async () => {
    const train = async (timeHead: boolean, detached = true) => {
      const model = BehaveGPT.create(toyConfig({ timeHead, dropout: 0.1 }), 5);
      await trainModel(model, sequences, sequences.slice(0, 3), behaviors, locations, {
        epochs: 2,
        batchSize: 4,
        warmupSteps: 1,
        patience: 5,
        seed: 1,
        timeHead: { weight: 1, detached },
      });
      return model;
    };
    const plain = await train(false);
    const detached = await train(true, true);
    const joint = await train(true, false);
    const block = 'block0.attn.qkv.w';
    expect(Array.from(detached.params.get(block)!.dataSync())).toEqual(Array.from(plain.params.get(block)!.dataSync()));
    expect(Array.from(detached.params.get('head.out.w')!.dataSync())).toEqual(
      Array.from(plain.params.get('head.out.w')!.dataSync()),
    );
    const diff = tf.tidy(
      () => tf.max(tf.abs(tf.sub(joint.params.get(block)!, plain.params.get(block)!))).dataSync()[0],
    );
    expect(diff).toBeGreaterThan(1e-6);
    // The time head itself learned something: better than uniform over 56 deltas (log 56 ≈ 4.03 nats).
    const evaluation = await evaluateModel(detached, sequences, behaviors, locations);
    expect(evaluation.time!.count).toBe(
      toExamples(sequences, 16).reduce((n, e) => n + e.events.length - Math.max(1, e.firstTarget), 0),
    );
    expect(evaluation.time!.loss).toBeLessThan(Math.log(56));
    // The toy events never repeat a slot, so "same slot again" never hits; chance is 1/56.
    expect(evaluation.time!.sameSlotShare).toBe(0);
    expect(evaluation.time!.accuracy).toBeGreaterThan(0.25);
    // A right (weekday, slot) is a right slot of the day, so slot accuracy can only be higher.
    expect(evaluation.time!.slotAccuracy).toBeGreaterThanOrEqual(evaluation.time!.accuracy);
    expect(evaluation.time!.slotAccuracy).toBeLessThanOrEqual(1);
    for (const m of [plain, detached, joint]) m.dispose();
  }, 60_000);

  it('step + behaviorProbabilities match the full forward pass', async () => {
    const model = BehaveGPT.create(toyConfig({ timeHead: true }), 9);
    let i = 0;
    for (const v of model.params.values()) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', 7 + i++));
    const history = events(5);
    const next = { weekday: 3, slot: 2, location: locations.id(history[0].location) };
    const batch = encodeBatch(
      [{ events: [...history, { ...history[0], weekday: 3, slot: 2 }], firstTarget: 0, sequenceId: 'q', offset: 0 }],
      behaviors,
      locations,
    );
    const { hidden, time } = await model.step(
      encodeBatch([{ events: history, firstTarget: 0, sequenceId: 'q', offset: 0 }], behaviors, locations, 6),
    );
    const stepped = await model.behaviorProbabilities(hidden, next);
    const full = await model.probabilities(batch, [5]);
    for (let c = 0; c < full.length; c++) expect(Math.abs(full[c] - stepped[c])).toBeLessThan(1e-5);
    expect(time!.length).toBe(56);
    expect(time!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    hidden.dispose();
    model.dispose();
  });
});
