/**
 * The library's loading API (src/lib/index.ts → model/pipeline.ts loadModel) in Node on the cpu
 * backend: every kind of source gives the same model as the Node loader, picked files are
 * matched to the manifest's shards, bad sources are refused with typed errors, and typed errors
 * keep their class across the worker boundary (browser/worker-errors.ts).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Comlink from 'comlink';
import { initNodeBackend } from '../src/node/tf';
import { loadPredictorDir } from '../src/node/model-files';
import {
  BackendUnavailableError,
  DEFAULT_FINETUNE_SETTINGS,
  finetune,
  loadModel,
  ModelFormatError,
  ModelIntegrityError,
  type BehaviorModel,
  type ContinueRun,
} from '../src/lib/index';
import { exposeErrorFields, reviveError } from '../src/browser/worker-errors';
import { fullContextQuery, type Predictor } from '../src/model/predictor';

const DIR = 'public/models/behavegpt-us';
const manifestText = readFileSync(`${DIR}/model.json`, 'utf8');
const shardBytes = readFileSync(`${DIR}/weights-shard1of1.bin`);
const shard = () =>
  shardBytes.buffer.slice(shardBytes.byteOffset, shardBytes.byteOffset + shardBytes.byteLength) as ArrayBuffer;

let reference: Predictor;
const opened: BehaviorModel[] = [];

beforeAll(async () => {
  await initNodeBackend('cpu');
  reference = loadPredictorDir(DIR, 'cpu');
});
afterAll(() => {
  reference.dispose();
  for (const m of opened) m.dispose();
});

async function open(source: Parameters<typeof loadModel>[0]): Promise<BehaviorModel> {
  // tfjs, as the Node reference runs (auto may pick the plain-JS decoder: equal to ~1e-7, not bit for bit).
  const model = await loadModel(source, { backend: 'cpu', engine: 'tfjs' });
  opened.push(model);
  return model;
}

describe('loadModel', () => {
  const { history, next } = fullContextQuery(JSON.parse(manifestText).vocabulary.behaviors.tokens.slice(3), 20);

  it('loads model files in memory (as text or as the parsed manifest) and picked files, each giving the Node loader’s predictions', async () => {
    const expected = await reference.predictNext(history, next, { k: 5 });
    const sources = [
      { manifestText, shards: [shard()] },
      { manifest: JSON.parse(manifestText) as object, shards: [shard()] },
      [
        new File([manifestText], 'model.json'),
        new File([shardBytes], 'weights-shard1of1.bin'),
        new File(['x'], 'notes.txt'),
      ],
    ];
    for (const source of sources) {
      const model = await open(source);
      expect(model.backend.name).toBe('cpu');
      expect(await model.predictNext(history, next, { k: 5 })).toEqual(expected);
    }
  });

  it('describes the model: config, vocabulary, size, recorded metrics', async () => {
    const { info } = await open({ manifestText, shards: [shard()] });
    const manifest = JSON.parse(manifestText);
    expect(info.name).toBe(manifest.name);
    expect(info.config.contextLength).toBe(manifest.config.contextLength);
    expect(info.behaviors).toEqual(manifest.vocabulary.behaviors.tokens.slice(3));
    expect(info.weightBytes).toBe(shardBytes.byteLength);
    expect(info.quantization).toBe('uint8');
    expect(info.canGenerate).toBe(true);
    expect(info.metrics.test['weighted_recall@5']).toBeCloseTo(manifest.training.test['weighted_recall@5'], 12);
    // Only splits whose values are all numbers count as metrics.
    expect(Object.keys(info.metrics).sort()).toEqual(['test', 'testNoRefresh', 'valid']);
  });

  it('hands back its files unchanged, as copies', async () => {
    const model = await open({ manifestText, shards: [shard()] });
    const files = await model.files();
    expect(files.manifestText).toBe(manifestText);
    expect(new Uint8Array(files.shards[0])).toEqual(new Uint8Array(shardBytes));
    new Uint8Array(files.shards[0]).fill(0);
    expect(new Uint8Array((await model.files()).shards[0])).toEqual(new Uint8Array(shardBytes));
  });

  it('refuses picked files without their shard, with several manifests, or with a damaged shard, naming the file', async () => {
    await expect(loadModel([new File([manifestText], 'model.json')], { backend: 'cpu' })).rejects.toThrow(
      /model\.json: names the shard file weights-shard1of1\.bin, which was not chosen/,
    );
    await expect(
      loadModel([new File([manifestText], 'a.json'), new File([manifestText], 'b.json')], { backend: 'cpu' }),
    ).rejects.toBeInstanceOf(ModelFormatError);
    const damaged = new Uint8Array(shardBytes);
    damaged[100] ^= 1;
    await expect(
      loadModel([new File([manifestText], 'model.json'), new File([damaged], 'weights-shard1of1.bin')], {
        backend: 'cpu',
      }),
    ).rejects.toBeInstanceOf(ModelIntegrityError);
    await expect(loadModel({ manifestText: '{"format":"x"}', shards: [] }, { backend: 'cpu' })).rejects.toBeInstanceOf(
      ModelFormatError,
    );
    await expect(loadModel(42 as never)).rejects.toThrow(TypeError);
  });

  it('fails with BackendUnavailableError when the backend asked for cannot start, and stops when aborted', async () => {
    await expect(loadModel({ manifestText, shards: [shard()] }, { backend: 'webgpu' })).rejects.toBeInstanceOf(
      BackendUnavailableError,
    );
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(
      loadModel({ manifestText, shards: [shard()] }, { backend: 'cpu', signal: controller.signal }),
    ).rejects.toThrow('stop');
    await initNodeBackend('cpu');
  });

  it('generates a trajectory as an async iterator, stopped by its signal', async () => {
    const model = await open({ manifestText, shards: [shard()] });
    const controller = new AbortController();
    const events = [];
    for await (const e of model.generate(history.slice(0, 5), { maxEvents: 50, seed: 3, signal: controller.signal })) {
      events.push(e);
      if (events.length === 7) controller.abort();
    }
    expect(events).toHaveLength(7);
    expect(events.map((e) => e.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const e of events) expect(model.info.behaviors).toContain(e.behavior);
  });
});

describe('finetune, continuing a run', () => {
  const metrics = { targets: 0 } as unknown as ContinueRun['before'];
  const carried: ContinueRun = {
    epochs: 6,
    steps: 84,
    seconds: 12,
    baseName: 'base',
    before: metrics,
    baselines: { 'markov-2': metrics, popularity: metrics },
    newBehaviors: [],
    frequencies: { matched: false },
    settings: { ...DEFAULT_FINETUNE_SETTINGS, seed: 5, heldOutFraction: 0.3 },
  };
  const files = () => ({ manifestText, shards: [shard()] });

  it('refuses to change the first run’s split, naming each setting, before anything starts', async () => {
    await expect(finetune(files(), [], { continueFrom: carried, seed: 0 })).rejects.toThrow(
      "a continued run keeps its first run's split: seed 5, not 0",
    );
    await expect(
      finetune(files(), [], { continueFrom: carried, heldOutFraction: 0.2, validationFraction: 0.5 }),
    ).rejects.toThrow(/heldOutFraction 0\.3, not 0\.2; validationFraction 0\.1, not 0\.5/);
  });

  it('runs with the first run’s settings, not the defaults: a budget change alone gets past the settings check', async () => {
    // With no sequences the split has nothing to hold out: the run is refused after the settings were accepted.
    await expect(finetune(files(), [], { continueFrom: carried, maxEpochs: 3 })).rejects.toThrow(
      /cannot fine-tune on sequences/,
    );
  });
});

describe('typed errors across a worker boundary', () => {
  it('keep their class and fields when the worker side sends them with exposeErrorFields', () => {
    exposeErrorFields();
    const handler = Comlink.transferHandlers.get('throw')!;
    const [wire] = handler.serialize({
      value: new ModelFormatError('model.json', 'config.numLayers', 'must be ≥ 1'),
    } as never);
    let thrown: unknown;
    try {
      handler.deserialize(wire);
    } catch (e) {
      thrown = reviveError(e);
    }
    expect(thrown).toBeInstanceOf(ModelFormatError);
    expect(thrown).toMatchObject({
      file: 'model.json',
      field: 'config.numLayers',
      message: 'model.json: field "config.numLayers": must be ≥ 1',
    });
    // An error of another kind stays a plain Error; a name that is an Object.prototype key changes nothing.
    expect(reviveError(Object.assign(new Error('x'), { name: 'toString' }))).not.toBeInstanceOf(ModelFormatError);
    expect(reviveError(Object.assign(new Error('x'), { name: 'ModelIntegrityError' }))).toBeInstanceOf(
      ModelIntegrityError,
    );
  });
});
