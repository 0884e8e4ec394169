/** The import path of the app: streamed parsing, the packed form a worker hands the page, and splitting by reference. */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseLogStream } from '../src/browser/behavior-logs';
import { DataError, parseBehaviorLog } from '../src/core/data';
import { splitForFinetune } from '../src/core/finetune';
import { packedBuffers, packLog, sequenceRefs, unpackSequences } from '../src/core/packed-log';
import { buildStartMessage, DEFAULT_FINETUNE_SETTINGS, unpackStart } from '../src/train/finetune-protocol';

const BEHAVIORS = ['Light:switch on', 'Fan:switch on', 'TV:setChannel', 'Door:lock'];

function canonical(sequences: number, withSplit = false): string {
  const rows = [`sequence_id,step,weekday,time_slot,behavior${withSplit ? ',split' : ''},location`];
  for (let s = 0; s < sequences; s++) {
    const length = 1 + ((s * 7) % 9);
    for (let t = 0; t < length; t++) {
      rows.push(
        `seq-${s},${t},${(s + t) % 7},${(s * t) % 8},${BEHAVIORS[(s + 2 * t) % 4]}${withSplit ? `,${['train', 'valid', 'test'][s % 3]}` : ''},${t % 3 === 0 ? 'kitchen' : 'hall'}`,
      );
    }
  }
  return `${rows.join('\n')}\n`;
}

/** A stream of `bytes` in chunks of the given sizes (cycled). */
function streamOf(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      const n = sizes[i++ % sizes.length];
      controller.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
}

describe('parseLogStream', () => {
  const csv = canonical(40, true);
  const bytes = new TextEncoder().encode(csv);

  it('gives what parseBehaviorLog gives, whatever the chunk sizes, plain or gzipped, with progress in stored bytes', async () => {
    const expected = parseBehaviorLog(csv, 'log.csv');
    for (const sizes of [[1], [2, 3], [7, 1, 64], [4096], [bytes.length]]) {
      expect(await parseLogStream(streamOf(bytes, sizes), 'log.csv'), String(sizes)).toEqual(expected);
    }
    const gz = new Uint8Array(gzipSync(csv));
    const progress: number[] = [];
    expect(await parseLogStream(streamOf(gz, [gz.length]), 'log.csv')).toEqual(expected);
    expect(await parseLogStream(streamOf(gz, [1, 100]), 'log.csv', { onBytes: (n) => progress.push(n) })).toEqual(
      expected,
    );
    expect(progress.at(-1)).toBe(gz.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('names the file when a gzip file is broken', async () => {
    const gz = new Uint8Array(gzipSync(csv));
    const broken = gz.slice(0, 40);
    const fake = Uint8Array.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const [what, input] of [
      ['cut off', broken],
      ['fake', fake],
    ] as const) {
      const error = await parseLogStream(streamOf(input, [16]), 'mine.csv.gz').catch((e: unknown) => e);
      expect(error, what).toBeInstanceOf(DataError);
      expect((error as Error).message, what).toMatch(
        /^mine\.csv\.gz: not a valid gzip file: it could not be decompressed/,
      );
    }
  });

  it('refuses more events or sequences than the limits, naming the line', async () => {
    const events = await parseLogStream(streamOf(bytes, [100]), 'log.csv', { maxEvents: 10 }).catch((e: Error) => e);
    expect((events as Error).message).toBe(
      'log.csv: line 12: more than 10 events, the limit of one import (split the file, or keep its most recent part)',
    );
    const sequences = await parseLogStream(streamOf(bytes, [100]), 'log.csv', { maxSequences: 3 }).catch(
      (e: Error) => e,
    );
    expect((sequences as DataError).field).toBe('sequence_id');
    expect((sequences as Error).message).toContain('more than 3 sequences, the limit of one import');
    const users = 'user_id,timestamp,behavior\na,2024-01-01T10:00,X\nb,2024-01-01T10:00,X\nc,2024-01-01T10:00,X\n';
    expect(() => parseBehaviorLog(users, 'u.csv', { maxSequences: 2 })).toThrow(
      'u.csv: line 4, field "user_id": more than 2 users, the limit of one import (split the file)',
    );
  });
});

describe('packed logs', () => {
  const log = parseBehaviorLog(canonical(40, true), 'log.csv');

  it('unpack to the sequences they were packed from, and transfer six buffers', () => {
    const packed = packLog(log);
    expect(unpackSequences(packed, sequenceRefs(packed))).toEqual(log.sequences);
    expect(packed.behaviors).toEqual(log.behaviors);
    expect(packed.events).toBe(log.events);
    expect(packed.starts.at(-1)).toBe(log.events);
    expect(packedBuffers(packed)).toHaveLength(6);
    // Structured clone keeps them as they are (what postMessage does).
    expect(unpackSequences(structuredClone(packed), sequenceRefs(packed))).toEqual(log.sequences);
  });

  it('references split exactly like the sequences, and a start message built on them unpacks to the same parts', () => {
    const packed = packLog(log);
    const refs = sequenceRefs(packed);
    expect(refs.map((r) => [r.id, r.split, r.events.length])).toEqual(
      log.sequences.map((s) => [s.id, s.split, s.events.length]),
    );
    const fractions = { heldOutFraction: 0.2, validationFraction: 0.1, seed: 5 };
    const bySequence = splitForFinetune(log.sequences, fractions);
    const byRef = splitForFinetune(refs, fractions);
    for (const part of ['train', 'validation', 'heldOut', 'unused'] as const) {
      expect(
        byRef[part].map((r) => r.id),
        part,
      ).toEqual(bySequence[part].map((s) => s.id));
    }
    const base = { manifestText: '{}', shards: [] };
    const settings = { ...DEFAULT_FINETUNE_SETTINGS, seed: 5 };
    const direct = buildStartMessage({ runId: 1, base, data: { name: 'x', sequences: log.sequences }, settings });
    const packedStart = buildStartMessage({
      runId: 1,
      base,
      data: { name: 'x', sequences: refs, log: packed },
      settings,
    });
    expect(packedStart.log).toBe(packed);
    expect(unpackStart(structuredClone(packedStart))).toEqual({ ...direct, log: undefined });
  });
});
