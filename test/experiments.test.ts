import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../src/node/tf';
import { runId, runOne, type RunSpec } from '../src/node/experiments';
import { aggregateMetrics, mergeRows, parseResults } from '../src/core/results';
import { events } from './helpers';

const tiny = { behaviorDim: 8, weekdayDim: 4, slotDim: 4, locationDim: 4, targetDim: 4, numHeads: 2, numLayers: 1, headHidden: 8, contextLength: 12 };
const seqs = (n: number, offset: number) => Array.from({ length: n }, (_, i) => ({ id: `q${offset + i}`, events: events(6 + (i % 4), i) }));
const data = { train: seqs(24, 0), valid: seqs(6, 100), test: seqs(6, 200) };

describe('experiment runner (unit size)', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it('runs, records test metrics for all and no-refresh targets, and skips a finished run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runs-'));
    const spec: RunSpec = { dataset: 'toy', model: 'behavegpt', objective: { name: 'dro', dro: { radius: 0.1 } }, seed: 1, config: tiny, train: { epochs: 2, batchSize: 8, patience: 2 } };
    const lines: string[] = [];
    const first = await runOne(spec, data, { recordsDir: dir, commit: 'test', log: (l) => lines.push(l) });
    expect(first.id).toBe(runId(spec));
    expect(first.epochsRun).toBe(2);
    expect(first.test.all.targets).toBe(data.test.reduce((s, q) => s + q.events.length - 1, 0));
    expect(first.test.all['weighted_recall@5']).toBeGreaterThanOrEqual(0);
    expect(first.test.all['head_recall@5']).toBeLessThanOrEqual(1);
    expect(readdirSync(dir)).toEqual([`${first.id}.json`]);
    const trainedLines = lines.length;
    const again = await runOne(spec, data, { recordsDir: dir, commit: 'test', log: (l) => lines.push(l) });
    expect(lines.length).toBe(trainedLines); // nothing trained or logged
    expect(again).toEqual(first);
  }, 60_000);

  it('gives different ids to runs that differ in any setting', () => {
    const base: RunSpec = { dataset: 'us', model: 'behavegpt', objective: { name: 'ce' }, seed: 0 };
    const ids = [
      base,
      { ...base, seed: 1 },
      { ...base, model: 'context-free' as const },
      { ...base, objective: { name: 'dro' as const, dro: { radius: 0.1 } } },
      { ...base, objective: { name: 'dro' as const, dro: { radius: 0.3 } } },
      { ...base, objective: { name: 'logit-adjusted' as const, tau: 1 } },
    ].map(runId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toBe('us-behavegpt-ce-s0');
  });
});

describe('results rows', () => {
  it('aggregates mean and sample std over seeds', () => {
    const { metrics, std } = aggregateMetrics([{ mrr: 0.5 }, { mrr: 0.7 }, { mrr: 0.6 }], ['mrr']);
    expect(metrics.mrr).toBe(0.6);
    expect(std.mrr).toBe(0.1);
  });

  it('merges a task without touching the others and validates rows', () => {
    const rows = mergeRows(
      [{ task: 'generation', dataset: 'us', model: 'm', metrics: {} }, { task: 'next-behavior', dataset: 'us', model: 'old', metrics: {} }],
      'next-behavior',
      [{ task: 'next-behavior', dataset: 'us', model: 'new', metrics: {} }],
    );
    expect(rows.map((r) => r.model)).toEqual(['m', 'new']);
    expect(() => parseResults([{ task: 'x', dataset: 'us', metrics: {} }], 'r.json')).toThrow('r.json: row 1, field "model": missing or not a string');
  });
});
