import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend, tf } from '../src/node/tf';
import { BehaveGPT } from '../src/model/behavegpt';
import { CpuDecoder } from '../src/model/cpu-decoder';
import { generateAll, generateTrajectories, type TrajectoryEvent } from '../src/model/generate';
import { Predictor } from '../src/model/predictor';
import { pickFaster } from '../src/model/workloads';
import { encodeBatch, encodeQuery, toExamples } from '../src/core/batch';
import { isRefresh, type BehaviorSequence } from '../src/core/events';
import { evaluateModel } from '../src/train/evaluate';
import { behaviors, events, locations, toyConfig } from './helpers';

/** The plain-JS engine must reproduce the tfjs model within this tolerance. */
const TOLERANCE = 1e-5;

function randomModel(seed: number, overrides = {}): BehaveGPT {
  const model = BehaveGPT.create(toyConfig({ contextLength: 16, timeHead: true, ...overrides }), seed);
  let i = 0;
  for (const v of model.params.values()) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', seed * 1000 + i++));
  return model;
}

const mixed = (n: number, offset = 0) =>
  events(n, offset).map((e, i) => ({ ...e, location: ['home', 'office', '<unknown>'][(i + offset) % 3] }));

function predictor(model: BehaveGPT, engine: 'auto' | 'js' | 'tfjs' = 'auto'): Predictor {
  return new Predictor(
    { model, behaviors, locations, manifest: { weightsManifest: [], name: 'toy', training: {} } as never },
    { name: 'wasm', reason: 'test', measuredMs: {} },
    { manifestText: '{}', shards: [] },
    engine,
  );
}

/** Sequences of several lengths (some longer than the context, so windows slide), one with refresh events. */
function log(): BehaviorSequence[] {
  const lengths = [1, 2, 5, 15, 16, 17, 31, 40];
  const sequences = lengths.map((n, s) => ({ id: `s${s}`, events: mixed(n, s * 3) }));
  sequences[3].events[4] = { ...sequences[3].events[4], behavior: 'Fan:refresh refresh' };
  return sequences;
}

describe('the plain-JS engine on batches', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it("gives the tfjs model's probabilities at any positions of a padded batch, in the order asked, for 1 and 2 layers", async () => {
    for (const numLayers of [1, 2]) {
      const model = randomModel(3 + numLayers, { numLayers });
      const decoder = await CpuDecoder.fromModel(model);
      const examples = [mixed(16), mixed(3, 5), mixed(9, 2)].map((ev, i) => ({
        events: ev,
        firstTarget: 0,
        sequenceId: `q${i}`,
        offset: 0,
      }));
      const batch = encodeBatch(examples, behaviors, locations);
      // Unordered, repeated, and positions in the padding of a short row.
      const positions = [20, 0, 15, 35, 17, 20, 47, 16, 2];
      const js = decoder.batchProbabilities(batch, positions);
      const ref = await model.probabilities(batch, positions);
      expect(js).toHaveLength(ref.length);
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(js[i] - ref[i]));
      expect(worst).toBeLessThan(TOLERANCE);
      expect(() => decoder.batchProbabilities(batch, [48])).toThrow(
        'CpuDecoder: position 48 is outside the batch of 3 × 16',
      );
      model.dispose();
    }
  });

  it('a query computed as one block equals the token-by-token decoder bit for bit', async () => {
    const model = randomModel(9);
    const decoder = await CpuDecoder.fromModel(model);
    const history = mixed(15);
    const next = { weekday: 2, slot: 5, location: 'office' };
    const { batch, position } = encodeQuery(history, next, behaviors, locations, 16);
    const block = decoder.batchProbabilities(batch, [position]);
    const stepwise = await CpuDecoder.fromModel(model);
    let hidden: Float64Array = new Float64Array();
    for (let t = 0; t <= position; t++)
      hidden = stepwise.push({
        behavior: batch.behaviors[t],
        weekday: batch.weekdays[t],
        slot: batch.slots[t],
        location: batch.locations[t],
      });
    expect(Array.from(block)).toEqual(
      Array.from(stepwise.behaviorProbabilities(hidden, { weekday: 2, slot: 5, location: locations.id('office') })),
    );
    model.dispose();
  });
});

describe('Predictor workloads', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it('chooses the engine of one prediction by measuring both, and predicts the same on either', async () => {
    const model = randomModel(21);
    const auto = predictor(model);
    expect(auto.engines.predict).toBeUndefined();
    const changes: number[] = [];
    auto.subscribeEngines(() => changes.push(1));
    const choice = await auto.choosePredictEngine();
    expect(changes).toHaveLength(1);
    expect(choice.measured.map((m) => m.engine).sort()).toEqual(['js', 'tfjs']);
    const fastest = choice.measured.reduce((a, b) => (a.value <= b.value ? a : b));
    expect(choice.engine).toBe(fastest.engine);
    expect(choice.reason).toContain('measured faster');
    expect(auto.engines.predict).toBe(choice);
    const history = mixed(20);
    const next = { weekday: 6, slot: 1, location: 'home' };
    const viaJs = await predictor(model, 'js').probabilities(history, next);
    const viaTfjs = await predictor(model, 'tfjs').probabilities(history, next);
    for (let i = 0; i < viaJs.length; i++) expect(Math.abs(viaJs[i] - viaTfjs[i])).toBeLessThan(TOLERANCE);
    expect(predictor(model, 'tfjs').engines.predict!.reason).toBe('tfjs wasm requested in the URL');
    model.dispose();
  });

  it('scores a log with the metrics of npm run evaluate, the same on both engines, with progress and cancel', async () => {
    const model = randomModel(23);
    const sequences = log();
    const cli = await evaluateModel(model, sequences, behaviors, locations);
    const cliNoRefresh = await evaluateModel(model, sequences, behaviors, locations, {
      includeTarget: (b) => !isRefresh(b),
    });
    const expectedTargets = sequences.reduce((n, s) => n + Math.max(0, s.events.length - 1), 0);
    expect(cli.metrics.targets).toBe(expectedTargets);
    for (const engine of ['js', 'tfjs', 'auto'] as const) {
      const p = predictor(model, engine);
      const progress: number[] = [];
      const score = await p.scoreLog(sequences, {
        batchSize: 3,
        onProgress: (done, total) => progress.push(done / total),
      });
      expect(score.targets).toBe(expectedTargets);
      expect(progress.at(-1)).toBe(1);
      expect(progress.length).toBeGreaterThan(1);
      for (const [key, value] of Object.entries(cli.metrics)) expect(score.all[key]).toBeCloseTo(value, 6);
      expect(score.all.loss).toBeCloseTo(cli.loss, 5);
      for (const [key, value] of Object.entries(cliNoRefresh.metrics))
        expect(score.noRefresh[key]).toBeCloseTo(value, 6);
      expect(score.noRefresh.targets).toBe(expectedTargets - 1);
      if (engine === 'auto') {
        expect(score.engine.measured.map((m) => m.unit)).toEqual(['positions/s', 'positions/s']);
        expect(p.engines.score).toBe(score.engine);
      } else expect(score.engine.engine).toBe(engine);
      const controller = new AbortController();
      controller.abort();
      await expect(p.scoreLog(sequences, { signal: controller.signal })).rejects.toThrow();
    }
    model.dispose();
  });

  it('pickFaster keeps the lower time or the higher throughput, and names the others in the reason', () => {
    const time = pickFaster(
      'predict',
      [
        { engine: 'js', label: 'plain JS', value: 0.2, unit: 'ms' },
        { engine: 'tfjs', label: 'tfjs wasm', value: 1.5, unit: 'ms' },
      ],
      'per prediction',
    );
    expect(time.engine).toBe('js');
    expect(time.reason).toBe('plain JS measured faster: plain JS 0.20 ms vs tfjs wasm 1.5 ms per prediction');
    const rate = pickFaster(
      'score',
      [
        { engine: 'js', label: 'plain JS', value: 900, unit: 'positions/s' },
        { engine: 'tfjs', label: 'tfjs webgpu', value: 52_000, unit: 'positions/s' },
      ],
      'on 64 windows',
    );
    expect(rate.engine).toBe('tfjs');
    expect(rate.reason).toBe(
      'tfjs webgpu measured faster: tfjs webgpu 52,000 positions/s vs plain JS 900 positions/s on 64 windows',
    );
  });
});

describe('generating many trajectories at once', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  const collect = async (gen: AsyncGenerator<TrajectoryEvent[]>) => {
    const out: TrajectoryEvent[][] = [];
    for await (const step of gen) out.push(step);
    return out;
  };

  it('trajectory k equals a single run with seed + k, on both step engines; each stops at its own horizon', async () => {
    const model = randomModel(31);
    const m = { model, behaviors, locations };
    const options = { prefix: mixed(6), maxEvents: 25, seed: 4, horizonSlots: 20, sampling: { temperature: 1 } };
    const steps = await collect(generateTrajectories(m, options, 5, 'js'));
    const byTrajectory = Array.from({ length: 5 }, (_, k) => steps.flat().filter((e) => e.trajectory === k));
    for (let k = 0; k < 5; k++) {
      const single = await generateAll(m, { ...options, seed: 4 + k });
      expect(byTrajectory[k].map(({ trajectory, ...e }) => e)).toEqual(single);
      for (const e of byTrajectory[k]) expect(e.elapsedSlots).toBeLessThanOrEqual(20);
    }
    // Trajectories stop at different steps, so later steps hold fewer events.
    expect(new Set(byTrajectory.map((t) => t.length)).size).toBeGreaterThan(1);
    expect(steps.at(-1)!.length).toBeLessThan(5);
    // Greedy sampling: recomputing every window in one tfjs batch gives the same events, past the sliding of the context.
    const greedy = {
      prefix: mixed(3),
      maxEvents: 30,
      seed: 1,
      sampling: { greedy: true },
      timeSampling: { greedy: true },
    };
    const js = (await collect(generateTrajectories(m, greedy, 3, 'js'))).flat();
    const recomputed = (await collect(generateTrajectories(m, greedy, 3, 'tfjs'))).flat();
    const until = 16 - 3; // the cached decoder slides at a full context, recomputing reads the last 15 events every step
    expect(js.filter((e) => e.index < until).map((e) => [e.trajectory, e.behavior, e.slot])).toEqual(
      recomputed.filter((e) => e.index < until).map((e) => [e.trajectory, e.behavior, e.slot]),
    );
    model.dispose();
  });

  it('the Predictor measures both step engines for a number of trajectories, and leaks no tensors', async () => {
    const model = randomModel(33);
    const p = predictor(model);
    const before = tf.memory().numTensors;
    const out: TrajectoryEvent[] = [];
    for await (const step of p.generateMany(mixed(4), 8, { maxEvents: 6, seed: 2 })) out.push(...step);
    expect(out).toHaveLength(48);
    expect(new Set(out.map((e) => e.trajectory)).size).toBe(8);
    const choice = p.engines.generate!;
    expect(choice.measured.map((m) => m.engine).sort()).toEqual(['js', 'tfjs']);
    expect(choice.reason).toContain('over the first 3 steps of 8 trajectories');
    expect(tf.memory().numTensors).toBe(before);
    await expect(
      collect(generateTrajectories({ model, behaviors, locations }, { prefix: [], maxEvents: 2 }, 2)),
    ).rejects.toThrow('an empty prefix needs a start time');
    await expect(
      collect(generateTrajectories({ model, behaviors, locations }, { prefix: mixed(2), maxEvents: 2 }, 0)),
    ).rejects.toThrow('the number of trajectories must be a whole number ≥ 1, got 0');
    model.dispose();
  });
});

// toExamples is what scoring windows a log with; a sequence of 40 events gets 3 windows at context 16.
describe('scoring windows', () => {
  it('cover every event once', () => {
    const windows = toExamples([{ id: 'a', events: mixed(40) }], 16);
    expect(windows.reduce((n, w) => n + w.events.length - w.firstTarget, 0)).toBe(40);
  });
});
