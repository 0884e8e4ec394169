import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../src/node/tf';
import { BehaveGPT } from '../src/model/behavegpt';
import { serializeModel } from '../src/model/weights';
import { modelsFromFiles } from '../src/browser/model-files';
import { exportFiles } from '../src/app/lib/finetune-data';
import { readModelFiles, resolveManifestPath } from '../src/node/model-files';
import { evaluationSequences } from '../src/cli/evaluate';
import { behaviors, locations, toyConfig } from './helpers';

beforeAll(async () => {
  await initNodeBackend('wasm');
});

/** A toy model exported the way the app exports it: `<stem>.json` and `<stem>-shard1of1.bin`. */
async function exported(stem: string, seed: number): Promise<File[]> {
  const model = BehaveGPT.create(toyConfig(), seed);
  const { manifest, shards } = await serializeModel({ model, behaviors, locations, name: `toy ${stem}`, training: {} });
  model.dispose();
  const files = exportFiles(
    stem,
    JSON.stringify(manifest),
    shards.map((s) => s.slice().buffer as ArrayBuffer),
  );
  return Promise.all(files.map(async (f) => new File([await f.blob.arrayBuffer()], f.name)));
}

describe('opening model files', () => {
  it('finds every model among the chosen files by its manifest, and checks each', async () => {
    const a = await exported('behavegpt-a-20261207-010101-aaaaaa', 1);
    const b = await exported('behavegpt-b-20261207-010102-bbbbbb', 2);
    const { models, errors } = await modelsFromFiles([...b, ...a]);
    expect(errors).toEqual([]);
    expect(models.map((m) => m.manifest.name).sort()).toEqual([
      'toy behavegpt-a-20261207-010101-aaaaaa',
      'toy behavegpt-b-20261207-010102-bbbbbb',
    ]);
    expect(models.every((m) => m.shards.length === 1)).toBe(true);
  });

  it('names the file and the problem: a changed byte, a missing shard, no manifest, not JSON, NaN weights', async () => {
    const [json, shard] = await exported('behavegpt-c-20261207-010103-cccccc', 3);
    const bytes = new Uint8Array(await shard.arrayBuffer());
    bytes[10] ^= 1;
    const flipped = new File([bytes], shard.name);
    expect((await modelsFromFiles([json, flipped])).errors).toEqual([
      expect.stringMatching(/cccccc-shard1of1\.bin: SHA-256 .* does not match/),
    ]);
    expect((await modelsFromFiles([json])).errors).toEqual([
      expect.stringMatching(/cccccc\.json: .*cccccc-shard1of1\.bin, which was not chosen/),
    ]);
    expect((await modelsFromFiles([shard])).errors).toEqual([
      expect.stringMatching(/shard1of1\.bin: no model manifest \(\.json\)/),
    ]);
    expect((await modelsFromFiles([new File(['{"format":'], 'half.json')])).errors).toEqual([
      expect.stringMatching(/half\.json: not valid JSON/),
    ]);
    // A float32 model with a NaN weight and a manifest that agrees with the bytes (sizes and hashes rewritten).
    const model = BehaveGPT.create(toyConfig(), 4);
    const { manifest, shards } = await serializeModel(
      { model, behaviors, locations, name: 'nan', training: {} },
      { dtype: 'float32' },
    );
    model.dispose();
    const raw = shards[0].slice();
    new DataView(raw.buffer).setFloat32(0, Number.NaN, true);
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', raw)), (x) =>
      x.toString(16).padStart(2, '0'),
    ).join('');
    manifest.weightsManifest[0].sha256 = [digest];
    const nan = [
      new File([JSON.stringify(manifest)], 'nan.json'),
      new File([raw], manifest.weightsManifest[0].paths[0]),
    ];
    expect((await modelsFromFiles(nan)).errors).toEqual([
      expect.stringMatching(/nan\.json: field "weight "embed\.behavior"": value 0 is NaN/),
    ]);
    // One bad model does not keep a good one out.
    const good = await exported('behavegpt-d-20261207-010104-dddddd', 5);
    const mixed = await modelsFromFiles([json, ...good]);
    expect(mixed.models.map((m) => m.manifest.name)).toEqual(['toy behavegpt-d-20261207-010104-dddddd']);
    expect(mixed.errors).toHaveLength(1);
  });
});

describe('model folders on disk', () => {
  it('a folder holding one app export is read through its manifest; two are refused by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'models-'));
    const write = async (sub: string, stem: string, seed: number) => {
      mkdirSync(join(dir, sub), { recursive: true });
      for (const f of await exported(stem, seed))
        writeFileSync(join(dir, sub, f.name), new Uint8Array(await f.arrayBuffer()));
    };
    await write('one', 'behavegpt-one-20261207-010101-aaaaaa', 1);
    await write('two', 'behavegpt-x-20261207-010101-aaaaaa', 1);
    await write('two', 'behavegpt-y-20261207-010101-bbbbbb', 2);
    expect(resolveManifestPath(join(dir, 'one'))).toBe(join(dir, 'one', 'behavegpt-one-20261207-010101-aaaaaa.json'));
    expect(readModelFiles(join(dir, 'one')).manifest.name).toBe('toy behavegpt-one-20261207-010101-aaaaaa');
    expect(() => resolveManifestPath(join(dir, 'two'))).toThrow(/2 manifests \(.*\); name one of them/);
    expect(readModelFiles(join(dir, 'two', 'behavegpt-y-20261207-010101-bbbbbb.json')).manifest.name).toBe(
      'toy behavegpt-y-20261207-010101-bbbbbb',
    );
    expect(() => resolveManifestPath(join(dir, 'none'))).toThrow(/no such file or folder/);
  });

  it('evaluate --data FILE scores the test split of a log with a split column, else all of it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'logs-'));
    const rows = (split: boolean) =>
      [`sequence_id,step,weekday,time_slot,behavior${split ? ',split' : ''}`]
        .concat(
          ['a', 'b', 'c'].flatMap((id, i) =>
            [0, 1, 2].map((t) => `${id},${t},1,2,Light:switch on${split ? `,${['train', 'valid', 'test'][i]}` : ''}`),
          ),
        )
        .join('\n');
    writeFileSync(join(dir, 'split.csv'), rows(true));
    writeFileSync(join(dir, 'plain.csv'), rows(false));
    expect(evaluationSequences(join(dir, 'split.csv'), 'us', undefined).sequences.map((s) => s.id)).toEqual(['c']);
    expect(evaluationSequences(join(dir, 'split.csv'), 'us', 'valid').sequences.map((s) => s.id)).toEqual(['b']);
    expect(evaluationSequences(join(dir, 'split.csv'), 'us', 'all').sequences).toHaveLength(3);
    expect(evaluationSequences(join(dir, 'plain.csv'), 'us', undefined)).toMatchObject({ label: 'plain.csv all' });
    expect(() => evaluationSequences(join(dir, 'plain.csv'), 'us', 'test')).toThrow(
      /no split column, so there is no test split/,
    );
  });
});
