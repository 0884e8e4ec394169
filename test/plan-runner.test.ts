import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseShard, runPlan, shardOf, waitFor } from '../src/node/plan-runner';
import { NotFinishedError, recordFromJson, runId, type RunSpec } from '../src/node/run-spec';
import { readRecord } from '../src/node/runs';
import { fakeRecord } from './records';

describe('shards', () => {
  it('parses I/N and takes every N-th run from I', () => {
    expect(parseShard()).toEqual({ index: 0, count: 1 });
    expect(parseShard('1/3')).toEqual({ index: 1, count: 3 });
    for (const bad of ['3/3', '1', 'a/2', '0/0', '-1/2'])
      expect(() => parseShard(bad)).toThrow(`--shard: "${bad}" is not I/N with 0 ≤ I < N`);
    expect(shardOf([0, 1, 2, 3, 4, 5, 6], parseShard('1/3'))).toEqual([1, 4]);
  });
});

describe('plan runner', () => {
  it('skips runs that have a record and says how many are left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-'));
    const specs: RunSpec[] = [0, 1, 2, 3].map((seed) => ({ dataset: 'toy', objective: { name: 'ce' }, seed }));
    for (const spec of specs) writeFileSync(join(dir, `${runId(spec)}.json`), JSON.stringify(fakeRecord(spec, {})));
    const lines: string[] = [];
    const data = () => {
      throw new Error('nothing should be trained');
    };
    await runPlan(specs, {
      shard: parseShard('0/2'),
      recordsDir: dir,
      commit: 'test',
      log: (l) => lines.push(l),
      data,
    });
    expect(lines).toEqual([`0 of 2 runs to do (shard 0/2); records in ${dir}`]);
  });

  it('waits while the inputs are unfinished, and fails at once on any other error', async () => {
    let calls = 0;
    const lines: string[] = [];
    const value = await waitFor(
      'the tune shards',
      () =>
        ++calls < 3
          ? (() => {
              throw new NotFinishedError('tuning is not finished');
            })()
          : 42,
      (l) => lines.push(l),
      1,
    );
    expect(value).toBe(42);
    expect(lines).toEqual([
      'tuning is not finished; waiting for the tune shards',
      'tuning is not finished; waiting for the tune shards',
    ]);
    await expect(
      waitFor(
        'x',
        () => {
          throw new Error('broken record');
        },
        () => {},
        1,
      ),
    ).rejects.toThrow('broken record');
  });
});

describe('records written before the ablation was a config switch', () => {
  it('a legacy `model: "context-free"` spec reads as useContext false, with the same id', () => {
    const dir = mkdtempSync(join(tmpdir(), 'legacy-'));
    mkdirSync(dir, { recursive: true });
    const legacy = {
      dataset: 'us',
      model: 'context-free',
      objective: { name: 'ce' },
      seed: 1,
      config: { behaviorDim: 24 },
    };
    const id = 'us-context-free-ce-behaviorDim24-s1';
    writeFileSync(join(dir, `${id}.json`), JSON.stringify({ ...fakeRecord(legacy as RunSpec, {}), id, spec: legacy }));
    const record = readRecord(dir, id)!;
    expect(record.spec).toEqual({
      dataset: 'us',
      objective: { name: 'ce' },
      seed: 1,
      config: { behaviorDim: 24, useContext: false },
    });
    expect(runId(record.spec)).toBe(id);
    const plain = recordFromJson({ ...record, spec: { ...legacy, model: 'behavegpt' } as RunSpec & { model: string } });
    expect(plain.spec).toEqual({ dataset: 'us', objective: { name: 'ce' }, seed: 1, config: { behaviorDim: 24 } });
    expect(runId(plain.spec)).toBe('us-behavegpt-ce-behaviorDim24-s1');
  });
});
