import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend, tf } from '../src/node/tf';
import { BehaveGPT } from '../src/model/behavegpt';
import { encodeQuery } from '../src/core/batch';
import { behaviors, events, locations, toyConfig } from './helpers';
import { bosIds, CpuDecoder } from '../src/model/cpu-decoder';
import { BOS } from '../src/core/vocab';

/** Cached decoding must reproduce a full forward pass over the same window, within this tolerance. */
const TOLERANCE = 1e-5;

describe('CPU decoder (the generation fast path)', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it('matches the tfjs forward pass (time and behavior heads) at every step of a 64-step rollout, sliding included', async () => {
    const config = toyConfig({ contextLength: 16, timeHead: true });
    const model = BehaveGPT.create(config, 5);
    let i = 0;
    for (const v of model.params.values()) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', 300 + i++));
    const decoder = await CpuDecoder.fromModel(model);
    const rollout = events(65, 2);
    const ids = (e: (typeof rollout)[number]) => ({
      behavior: behaviors.id(e.behavior),
      weekday: e.weekday,
      slot: e.slot,
      location: locations.id(e.location),
    });
    let windowStart = 0;
    let hidden = decoder.push(bosIds(behaviors.id(BOS)));
    let worst = 0;
    for (let t = 0; t < 64; t++) {
      const next = rollout[t];
      const { batch, position } = encodeQuery(
        rollout.slice(windowStart, t),
        next,
        behaviors,
        locations,
        config.contextLength,
      );
      const [behaviorProbs, timeProbs] = tf.tidy(() => {
        const out = model.outputs(batch, { positions: tf.tensor1d([position], 'int32') });
        return [tf.softmax(out.behavior).dataSync(), tf.softmax(out.time!).dataSync()];
      });
      const cpuBehavior = decoder.behaviorProbabilities(hidden, {
        weekday: next.weekday,
        slot: next.slot,
        location: locations.id(next.location),
      });
      const cpuTime = decoder.timeProbabilities(hidden);
      for (let c = 0; c < behaviorProbs.length; c++)
        worst = Math.max(worst, Math.abs(behaviorProbs[c] - cpuBehavior[c]));
      for (let c = 0; c < timeProbs.length; c++) worst = Math.max(worst, Math.abs(timeProbs[c] - cpuTime[c]));
      if (decoder.length === config.contextLength) {
        decoder.reset();
        windowStart = t + 1 - config.contextLength / 2;
        hidden = decoder.push(bosIds(behaviors.id(BOS)));
        for (const e of rollout.slice(windowStart, t + 1)) hidden = decoder.push(ids(e));
      } else hidden = decoder.push(ids(next));
    }
    expect(worst).toBeLessThan(TOLERANCE);
    expect(() => {
      while (decoder.length <= config.contextLength) decoder.push(ids(rollout[0]));
    }).toThrow('CpuDecoder: 17 tokens exceed the context length 16');
    // The tfjs model refuses a window longer than its context the same way.
    const tooLong = encodeQuery(rollout.slice(0, 16), rollout[16], behaviors, locations, 18).batch;
    expect(() => tf.tidy(() => model.logits(tooLong))).toThrow('BehaveGPT: 17 tokens exceed the context length 16');
    model.dispose();
  });
});
