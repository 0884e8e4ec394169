import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend, tf } from '../src/node/tf';
import { BehaveGPT, countParameters, parameterSpecs } from '../src/model/behavegpt';
import { encodeBatch, encodeQuery, IGNORE, toExamples } from '../src/core/batch';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  modelFromArtifacts,
  serializeModel,
  validateManifest,
  verifyShards,
  type ModelManifest,
} from '../src/model/weights';
import { ModelFormatError, ModelIntegrityError } from '../src/model/errors';
import { behaviors, event, events, locations, toyConfig } from './helpers';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

async function probsAt(model: BehaveGPT, evs: ReturnType<typeof events>, position: number): Promise<Float32Array> {
  const batch = encodeBatch([{ events: evs, firstTarget: 0, sequenceId: 's', offset: 0 }], behaviors, locations);
  return model.probabilities(batch, [position]);
}

/** Larger random weights than the 0.02 initialiser, so every path has a clearly measurable effect. */
function randomize(model: BehaveGPT, seed: number): BehaveGPT {
  let i = 0;
  for (const v of model.params.values()) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', seed + i++));
  return model;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('BehaveGPT', () => {
  it('counts its parameters as the config says', () => {
    const config = toyConfig();
    const model = BehaveGPT.create(config, 1);
    expect(model.parameterCount).toBe(countParameters(config));
    model.dispose();
  });

  it('is causal: events after position t do not change the prediction at t', async () => {
    const model = BehaveGPT.create(toyConfig(), 3);
    const a = events(10);
    const b = [
      ...a.slice(0, 5),
      ...events(5, 3).map((e) => ({ ...e, weekday: (e.weekday + 2) % 7, location: 'office' })),
    ];
    // Token t sees events 0..t-1 and the time of event t; position 4 predicts event 4 from events 0..3.
    for (let t = 0; t <= 4; t++)
      expect(maxAbsDiff(await probsAt(model, a, t), await probsAt(model, b, t))).toBeLessThan(1e-6);
    // …and the prediction at 6 does see the change.
    expect(maxAbsDiff(await probsAt(model, a, 6), await probsAt(model, b, 6))).toBeGreaterThan(1e-4);
    model.dispose();
  });

  it('uses all four input streams and the target context', async () => {
    const model = randomize(BehaveGPT.create(toyConfig(), 5), 5);
    const base = events(6);
    const reference = await probsAt(model, base, 5);
    const variants: Record<string, ReturnType<typeof events>> = {
      behavior: base.map((e, i) => (i === 2 ? { ...e, behavior: 'Fan:switch on' } : e)),
      weekday: base.map((e, i) => (i === 2 ? { ...e, weekday: (e.weekday + 3) % 7 } : e)),
      slot: base.map((e, i) => (i === 2 ? { ...e, slot: (e.slot + 4) % 8 } : e)),
      location: base.map((e, i) => (i === 2 ? { ...e, location: 'home' } : e)),
      'target weekday': base.map((e, i) => (i === 5 ? { ...e, weekday: (e.weekday + 1) % 7 } : e)),
      'target slot': base.map((e, i) => (i === 5 ? { ...e, slot: (e.slot + 1) % 8 } : e)),
    };
    for (const [stream, evs] of Object.entries(variants)) {
      const diff = maxAbsDiff(reference, await probsAt(model, evs, 5));
      expect(diff, stream).toBeGreaterThan(1e-3);
    }
    model.dispose();
  });

  it('ignores the context streams in the context-free ablation', async () => {
    const model = BehaveGPT.create(toyConfig({ useContext: false }), 5);
    const base = events(6);
    const moved = base.map((e) => ({ ...e, weekday: (e.weekday + 3) % 7, slot: (e.slot + 1) % 8 }));
    expect(maxAbsDiff(await probsAt(model, base, 5), await probsAt(model, moved, 5))).toBeLessThan(1e-6);
    model.dispose();
  });

  it('never gives probability to special tokens, and probabilities sum to 1', async () => {
    const model = BehaveGPT.create(toyConfig(), 2);
    const p = await probsAt(model, events(4), 3);
    expect(p[0] + p[1] + p[2]).toBeLessThan(1e-12);
    expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    model.dispose();
  });

  it('gives the same probabilities on the wasm and cpu backends', async () => {
    const model = BehaveGPT.create(toyConfig(), 4);
    const onWasm = await probsAt(model, events(8), 7);
    await initNodeBackend('cpu');
    try {
      expect(maxAbsDiff(onWasm, await probsAt(model, events(8), 7))).toBeLessThan(1e-5);
    } finally {
      await initNodeBackend('wasm');
      model.dispose();
    }
  });

  it('encodes a query as the last context-1 events plus the event to predict', () => {
    const history = events(40);
    const { batch, position } = encodeQuery(
      history,
      { weekday: 3, slot: 6, location: 'home' },
      behaviors,
      locations,
      16,
    );
    expect(batch.length).toBe(16);
    expect(position).toBe(15);
    expect(batch.targetWeekdays[15]).toBe(3);
    expect(batch.targetSlots[15]).toBe(6);
    expect(batch.targetLocations[15]).toBe(locations.id('home'));
    // Token 1 is the 25th event (40 - 15): the context slid.
    expect(batch.behaviors[1]).toBe(behaviors.id(history[25].behavior));
  });

  it('cuts long sequences into windows where every event is a target exactly once', () => {
    const seq = { id: 'long', events: events(40) };
    const examples = toExamples([seq], 16);
    const counted = new Map<number, number>();
    for (const ex of examples) {
      const b = encodeBatch([ex], behaviors, locations);
      ex.events.forEach((_, t) => {
        if (b.targets[t] !== IGNORE) counted.set(ex.offset + t, (counted.get(ex.offset + t) ?? 0) + 1);
      });
      expect(ex.events.length).toBeLessThanOrEqual(16);
    }
    expect([...counted.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect([...counted.values()].every((c) => c === 1)).toBe(true);
  });

  it('learns: a few training steps lower the loss on a repeated pattern', async () => {
    const { trainModel } = await import('../src/train/trainer');
    const model = BehaveGPT.create(toyConfig(), 7);
    const seqs = Array.from({ length: 32 }, (_, i) => ({ id: `s${i}`, events: events(8, i % 2) }));
    const result = await trainModel(model, seqs, seqs.slice(0, 8), behaviors, locations, {
      epochs: 30,
      batchSize: 16,
      warmupSteps: 2,
      learningRate: 1e-2,
      patience: 30,
    });
    expect(result.history.at(-1)!.validLoss).toBeLessThan(result.history[0].validLoss * 0.7);
    expect(result.best.metrics['weighted_recall@1']).toBeGreaterThan(0.9);
    model.dispose();
  }, 30_000);
});

describe('weights file', () => {
  it('round-trips float32 weights exactly and reports shapes', async () => {
    const model = BehaveGPT.create(toyConfig(), 9);
    const { manifest, shards } = await serializeModel(
      { model, behaviors, locations, name: 'toy', training: { seed: 9 } },
      { dtype: 'float32', shardBytes: 4000 },
    );
    expect(shards.length).toBeGreaterThan(1);
    const json = JSON.parse(JSON.stringify(manifest));
    const loaded = modelFromArtifacts(
      validateManifest(json),
      shards.map((s) => s.slice().buffer),
    );
    for (const [name, v] of model.params) {
      expect(Array.from(await loaded.model.params.get(name)!.data()), name).toEqual(Array.from(await v.data()));
    }
    expect(loaded.behaviors.tokens).toEqual(behaviors.tokens);
    expect(loaded.manifest.training).toEqual({ seed: 9 });
    model.dispose();
    loaded.model.dispose();
  });

  it('stores int8 weights in at most 30% of the float32 bytes, within half a step of each value', async () => {
    const model = BehaveGPT.create(toyConfig(), 10);
    const f32 = await serializeModel({ model, behaviors, locations, name: 'toy', training: {} }, { dtype: 'float32' });
    const int8 = await serializeModel({ model, behaviors, locations, name: 'toy', training: {} }, { dtype: 'uint8' });
    const bytes = (s: Uint8Array[]) => s.reduce((a, b) => a + b.length, 0);
    expect(bytes(int8.shards) / bytes(f32.shards)).toBeLessThanOrEqual(0.3);
    const loaded = modelFromArtifacts(
      int8.manifest,
      int8.shards.map((s) => s.slice().buffer),
    );
    for (const [name, v] of model.params) {
      const a = await v.data();
      const b = await loaded.model.params.get(name)!.data();
      // Matrices are quantized per row, vectors per tensor: the bound is half a step of each group.
      const cols = v.shape.length === 2 ? v.shape[1] : a.length;
      for (let start = 0; start < a.length; start += cols) {
        const group = Array.from(a.subarray(start, start + cols));
        const step = (Math.max(...group) - Math.min(...group)) / 255 || 1;
        expect(maxAbsDiff(group, b.subarray(start, start + cols)), name).toBeLessThanOrEqual(step / 2 + 1e-7);
      }
    }
    model.dispose();
    loaded.model.dispose();
  });

  it('rejects a manifest whose vocabulary does not match the config, naming the field', async () => {
    const model = BehaveGPT.create(toyConfig(), 11);
    const { manifest } = await serializeModel({ model, behaviors, locations, name: 'toy', training: {} });
    const broken = JSON.parse(JSON.stringify(manifest));
    broken.vocabulary.behaviors.tokens.pop();
    expect(() => validateManifest(broken, 'm.json')).toThrow(
      `m.json: field "config.numBehaviors": ${behaviors.size} but the vocabulary has ${behaviors.size - 1} behaviors`,
    );
    const noWeight = JSON.parse(JSON.stringify(manifest));
    noWeight.weightsManifest[0].weights = noWeight.weightsManifest[0].weights.filter(
      (w: { name: string }) => w.name !== 'head.out.b',
    );
    expect(() => validateManifest(noWeight, 'm.json')).toThrow(
      'm.json: field "weightsManifest": no weight "head.out.b"',
    );
    expect(() => modelFromArtifacts(manifest, [new ArrayBuffer(10)])).toThrow(
      /^weights-shard1of1\.bin: 10 bytes, the manifest says \d+ \(a truncated or different file\)$/,
    );
    model.dispose();
  });
});

describe('model file integrity', () => {
  async function toyFiles(dtype: 'uint8' | 'float32' = 'uint8') {
    const model = BehaveGPT.create(toyConfig(), 13);
    const { manifest, shards } = await serializeModel(
      { model, behaviors, locations, name: 'toy', training: {} },
      { dtype },
    );
    model.dispose();
    return {
      manifest: JSON.parse(JSON.stringify(manifest)) as ModelManifest,
      shard: shards[0].slice().buffer as ArrayBuffer,
    };
  }
  const changed = (shard: ArrayBuffer, edit: (b: Uint8Array) => Uint8Array) =>
    edit(new Uint8Array(shard.slice(0))).slice().buffer as ArrayBuffer;

  it("records each shard's byte length and SHA-256 in the manifest", async () => {
    const { manifest, shard } = await toyFiles();
    expect(manifest.weightsManifest[0].byteLengths).toEqual([shard.byteLength]);
    expect(manifest.weightsManifest[0].sha256).toEqual([
      createHash('sha256').update(new Uint8Array(shard)).digest('hex'),
    ]);
    await expect(verifyShards(manifest, [shard])).resolves.toEqual({ hashed: true });
  });

  it('refuses truncated, extended, empty and bit-flipped shards, naming the shard', async () => {
    const { manifest, shard } = await toyFiles();
    const bad = {
      truncated: changed(shard, (b) => b.subarray(0, 2000)),
      extended: changed(shard, (b) => Uint8Array.from([...b, 0])),
      empty: new ArrayBuffer(0),
      flipped: changed(shard, (b) => {
        b[100] ^= 0x10;
        return b;
      }),
    };
    for (const [kind, buffer] of Object.entries(bad)) {
      const error = await verifyShards(manifest, [buffer]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, kind).toBeInstanceOf(ModelIntegrityError);
      expect((error as ModelIntegrityError).shard, kind).toBe('weights-shard1of1.bin');
    }
    await expect(verifyShards(manifest, [bad.flipped])).rejects.toThrow(
      /^weights-shard1of1\.bin: SHA-256 [0-9a-f]{12}… does not match the manifest's/,
    );
  });

  it('refuses manifests with wrong shapes, dtypes, shard paths or sizes, naming the field', async () => {
    const { manifest } = await toyFiles();
    const cases: [string, (m: any) => void, string][] = [
      [
        'shape',
        (m) => (m.weightsManifest[0].weights.find((w: any) => w.name === 'embed.behavior').shape = [24, 126]),
        `m.json: field "weight "embed.behavior"": shape [24,126], the config needs [${behaviors.size},16]`,
      ],
      [
        'dtype',
        (m) => (m.weightsManifest[0].weights[0].dtype = 'int32'),
        'dtype "int32": this format stores float32 values',
      ],
      [
        'cross-origin shard',
        (m) => (m.weightsManifest[0].paths = ['https://evil.example/w.bin']),
        'is not a path relative to the manifest',
      ],
      ['absolute shard', (m) => (m.weightsManifest[0].paths = ['/w.bin']), 'is not a path relative to the manifest'],
      ['parent shard', (m) => (m.weightsManifest[0].paths = ['../w.bin']), 'is not a path relative to the manifest'],
      [
        'NaN quantization',
        (m) =>
          (m.weightsManifest[0].weights.find(
            (w: any) => w.quantization && w.quantization.min !== 0,
          ).quantization.scale = null),
        'expected { dtype: "uint8", min, scale } with finite numbers',
      ],
      [
        'huge config',
        (m) => (m.config.numBehaviors = 20_000_000),
        'field "config.numBehaviors": expected an integer ≥ 1, got 20000000',
      ],
      [
        'huge weights',
        (m) => {
          // A consistent manifest of a ~1.5 GB model: refused before any shard is fetched.
          m.config.mlpRatio = 1_000_000;
          m.weightsManifest[0].weights = [...parameterSpecs(m.config)].map(([name, spec]) => ({
            name,
            shape: spec.shape,
            dtype: 'float32',
            quantization: { dtype: 'uint8', min: 0, scale: 1 },
          }));
          delete m.weightsManifest[0].byteLengths;
        },
        'bytes of weights, more than the 536870912-byte limit',
      ],
      [
        'byte lengths',
        (m) => (m.weightsManifest[0].byteLengths = [5]),
        'field "weightsManifest[0].byteLengths": add up to 5 bytes',
      ],
      ['hash', (m) => (m.weightsManifest[0].sha256 = ['abc']), 'expected one lowercase hex SHA-256 per path'],
      [
        'unknown weight',
        (m) => m.weightsManifest[0].weights.push({ name: 'extra', shape: [1], dtype: 'float32' }),
        'field "weight "extra"": is not a parameter of this config',
      ],
    ];
    for (const [what, edit, message] of cases) {
      const broken = JSON.parse(JSON.stringify(manifest));
      edit(broken);
      let error: unknown = null;
      try {
        validateManifest(broken, 'm.json');
      } catch (e) {
        error = e;
      }
      expect(error, what).toBeInstanceOf(ModelFormatError);
      expect((error as Error).message, what).toContain(message);
    }
  });

  it('refuses NaN or infinite weights with the tensor named, and leaves no tensors behind', async () => {
    const { manifest, shard } = await toyFiles();
    // Poison the first value of a row scale vector (float32 inside the int8 file).
    const entries = manifest.weightsManifest[0].weights;
    const target = entries.findIndex((w) => w.name === 'head.out.w:rowScale');
    const offset = entries
      .slice(0, target)
      .reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * (w.quantization ? 1 : 4), 0);
    const withNaN = changed(shard, (b) => {
      new DataView(b.buffer).setFloat32(offset, Number.NaN, true);
      return b;
    });
    const before = tf.memory().numTensors;
    expect(() => modelFromArtifacts(manifest, [withNaN], 'm.json')).toThrow(
      'm.json: field "weight "head.out.w:rowScale"": value 0 is NaN',
    );
    expect(tf.memory().numTensors).toBe(before);
    const f32 = await toyFiles('float32');
    const withInf = changed(f32.shard, (b) => {
      new DataView(b.buffer).setFloat32(0, Number.POSITIVE_INFINITY, true);
      return b;
    });
    expect(() => modelFromArtifacts(f32.manifest, [withInf], 'm.json')).toThrow(
      'm.json: field "weight "embed.behavior"": value 0 is Infinity',
    );
  });

  it('the shipped model passes every check', async () => {
    const dir = 'public/models/behavegpt-us';
    const manifest = validateManifest(JSON.parse(readFileSync(`${dir}/model.json`, 'utf8')), 'model.json');
    const shards = manifest.weightsManifest[0].paths.map(
      (p) => new Uint8Array(readFileSync(`${dir}/${p}`)).slice().buffer as ArrayBuffer,
    );
    await expect(verifyShards(manifest, shards)).resolves.toEqual({ hashed: true });
  });
});

describe('memory', () => {
  it('leaks no tensors over repeated predictions', async () => {
    const model = BehaveGPT.create(toyConfig(), 12);
    const { batch, position } = encodeQuery(events(10), event(3), behaviors, locations, 16);
    await model.probabilities(batch, [position]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 200; i++) await model.probabilities(batch, [position]);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
