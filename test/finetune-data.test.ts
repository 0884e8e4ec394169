import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/core/data';
import { parseLogBytes } from '../src/browser/behavior-logs';
import { exportFiles } from '../src/app/lib/finetune-data';

const CSV = 'sequence_id,step,weekday,time_slot,behavior\na,0,0,1,Light:switch on\na,1,0,1,Fan:switch on\n';

describe('fine-tune data import', () => {
  it('reads plain and gzipped CSV alike (gzip told by its magic bytes)', async () => {
    const plain = await parseLogBytes(new TextEncoder().encode(CSV), 'mine.csv');
    const gz = await parseLogBytes(new Uint8Array(gzipSync(CSV)), 'mine.csv.gz');
    expect(gz).toEqual(plain);
    expect(plain.events).toBe(2);
  });

  it('reports a broken file with its line and field', async () => {
    const broken = CSV.replace('a,1,0,1', 'a,1,0,12');
    const error = await parseLogBytes(new TextEncoder().encode(broken), 'mine.csv').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).line).toBe(3);
    expect((error as DataError).field).toBe('time_slot');
  });
});

describe('model export', () => {
  it("names the files for the model and rewrites the manifest's shard paths to match", async () => {
    const manifest = {
      name: 'm',
      weightsManifest: [
        {
          paths: ['weights-shard1of2.bin', 'weights-shard2of2.bin'],
          weights: [],
          byteLengths: [2, 1],
          sha256: ['a', 'b'],
        },
      ],
    };
    const files = exportFiles('behavegpt-home-20261207-140322-k3x9qa', JSON.stringify(manifest), [
      new Uint8Array([1, 2]).buffer,
      new Uint8Array([3]).buffer,
    ]);
    expect(files.map((f) => f.name)).toEqual([
      'behavegpt-home-20261207-140322-k3x9qa.json',
      'behavegpt-home-20261207-140322-k3x9qa-shard1of2.bin',
      'behavegpt-home-20261207-140322-k3x9qa-shard2of2.bin',
    ]);
    const written = JSON.parse(await files[0].blob.text());
    expect(written.weightsManifest[0].paths).toEqual(files.slice(1).map((f) => f.name));
    // Everything else as it was: sizes and hashes belong to the same shards in the same order.
    expect({
      ...written,
      weightsManifest: [{ ...written.weightsManifest[0], paths: manifest.weightsManifest[0].paths }],
    }).toEqual(manifest);
    expect(files[2].blob.size).toBe(1);
    // Two models: no file name in common.
    const other = exportFiles('behavegpt-home-20261207-140323-zz0000', JSON.stringify(manifest), [
      new ArrayBuffer(2),
      new ArrayBuffer(1),
    ]);
    expect(other.map((f) => f.name).filter((n) => files.some((f) => f.name === n))).toEqual([]);
    expect(() => exportFiles('x', JSON.stringify(manifest), [new ArrayBuffer(1)])).toThrow(/2 shards, 1 are stored/);
  });
});
