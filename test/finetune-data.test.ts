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
  it('names the shards as model.json lists them', async () => {
    const manifest = JSON.stringify({ weightsManifest: [{ paths: ['weights-shard1of2.bin', 'weights-shard2of2.bin'], weights: [] }] });
    const files = exportFiles(manifest, [new Uint8Array([1, 2]).buffer, new Uint8Array([3]).buffer]);
    expect(files.map((f) => f.name)).toEqual(['model.json', 'weights-shard1of2.bin', 'weights-shard2of2.bin']);
    expect(await files[0].blob.text()).toBe(manifest);
    expect(files[2].blob.size).toBe(1);
    expect(() => exportFiles(manifest, [new ArrayBuffer(1)])).toThrow(/2 shards, 1 are stored/);
  });
});
