import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectPhases } from '../src/cli/args';
import { benchParts } from '../src/cli/bench';
import { pretrainOptions } from '../src/cli/pretrain';
import { benchMarkdown, ENGINE_FIGURES, FigureLog, median, mergeFigures, quantile } from '../src/node/bench/figures';
import { PROJECT_ROOT, resolveDataDir } from '../src/node/config';

// Importing a command module does no work: each runs its main() only when started as a script.
import '../src/cli/experiments';
import '../src/cli/adaptation';
import '../src/cli/scaling';
import '../src/cli/generation';
import '../src/cli/explain-eval';

describe('command-line phases', () => {
  const phases = ['tune', 'kshot', 'cross', 'bootstrap', 'report'] as const;
  it('all, one phase, or a group; unknown names are refused with the list', () => {
    expect([...selectPhases(undefined, phases)]).toEqual([...phases]);
    expect([...selectPhases('cross', phases)]).toEqual(['cross']);
    expect([...selectPhases('run', phases, { run: ['kshot', 'cross'] })]).toEqual(['kshot', 'cross']);
    expect(() => selectPhases('crosss', phases, { run: ['kshot', 'cross'] })).toThrow(
      '--phase: "crosss" is not one of all, run, tune, kshot, cross, bootstrap, report',
    );
  });
});

describe('benchmark command', () => {
  it('measures the parts of --only, else all (Node parts only with --node-only)', () => {
    expect([...benchParts('size, node', false)]).toEqual(['size', 'node']);
    // explain measures in Node and Chromium: --node-only keeps its Node half.
    expect([...benchParts(undefined, true)]).toEqual(['size', 'node', 'training', 'generation', 'explain']);
    expect(benchParts(undefined, false).size).toBe(9);
    expect([...benchParts('engines', true)]).toEqual(['engines']);
    expect(() => benchParts('size,gpu', false)).toThrow(
      '--only: unknown part "gpu" (parts: size, node, training, generation, browser, finetune, explain, engines, library)',
    );
  });

  it('figures: median and range of the runs, met or missed, printed as recorded', () => {
    const printed: string[] = [];
    const log = new FigureLog('2030-01-01T00:00:00.000Z', 'abc', (l) => printed.push(l));
    const f = log.record('latency', 'wasm', 'ms', [3, 1, 2, 10], 'Node v20', { text: '< 5 ms', ok: (m) => m < 5 });
    expect(f).toMatchObject({ median: 2.5, min: 1, max: 10, runs: 4, met: true, target: '< 5 ms' });
    expect(log.record('x', 'cpu', 'ms', [7], 'Node v20', { text: '< 5 ms', ok: (m) => m < 5 }).met).toBe(false);
    expect(printed[1]).toContain('target < 5 ms: MISSED');
    expect(median([5, 1, 3])).toBe(3);
    // p99 only from 100 runs on; engine, batch, ratio and load when given.
    expect(f.p99).toBeUndefined();
    const many = log.record(
      'one prediction',
      'cpu (plain JS)',
      'ms',
      Array.from({ length: 200 }, (_, i) => i + 1),
      'Chromium',
      undefined,
      { engine: 'js', batch: 1, ratio: 1, load: 'load average 3.0' },
    );
    expect(many).toMatchObject({ engine: 'js', batch: 1, p99: 198, ratio: 1, load: 'load average 3.0', median: 100.5 });
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
  });

  it('a partial run replaces figures of the same name, backend and runtime in place and keeps the rest', () => {
    const fig = (name: string, backend: string, device: string, median: number, date = 'old') => ({
      name,
      backend,
      unit: 'ms',
      median,
      min: median,
      max: median,
      runs: 1,
      date,
      commit: 'c',
      device,
    });
    const earlier = [
      fig('latency', 'wasm', 'Node v20', 1),
      fig('latency', 'wasm', 'Chromium 120', 2),
      fig('load', 'wasm', 'Chromium 120', 3),
    ];
    const fresh = [
      fig('latency', 'wasm', 'Chromium 121 headless', 9, 'new'),
      fig('tensors', 'wasm', 'Node v20', 0, 'new'),
    ];
    expect(mergeFigures(earlier, fresh).map((f) => `${f.name}/${f.device}/${f.median}`)).toEqual([
      'latency/Node v20/1',
      'latency/Chromium 121 headless/9',
      'load/Chromium 120/3',
      'tensors/Node v20/0',
    ]);
    const md = benchMarkdown(mergeFigures(earlier, fresh), {
      modelDir: 'm',
      json: 'docs/bench.json',
      contextEvents: 32,
    });
    expect(md).toContain('The figures come from 2 runs');
    expect(md).toContain('| latency |  | wasm |  | 9 ms |  | 9 – 9 | 1 |  | Chromium 121 headless | new `c` |');
    expect(md).not.toContain('## Engines');
    // Rows of different engines or batch sizes are different figures; the engine comparison gets its own table.
    const engineRow = (engine: string, batch: number, median: number, ratio: number) => ({
      ...fig(ENGINE_FIGURES.throughput, 'wasm', 'Chromium 121 headless', median, 'new'),
      unit: 'positions/s',
      engine,
      batch,
      ratio,
      load: 'load average 2.0',
    });
    const engines = [
      engineRow('tfjs', 16, 1000, 2),
      engineRow('onnxruntime-web', 16, 2000, 1),
      engineRow('tfjs', 256, 3000, 1),
    ];
    const merged = mergeFigures(engines, [engineRow('tfjs', 16, 1500, 1.5)]);
    expect(merged.map((f) => `${f.engine}/${f.batch}/${f.median}`)).toEqual([
      'tfjs/16/1500',
      'onnxruntime-web/16/2000',
      'tfjs/256/3000',
    ]);
    const table = benchMarkdown(merged, { modelDir: 'm', json: 'x', contextEvents: 32 });
    expect(table).toContain('## Engines: the same network and inputs on every engine');
    expect(table).toContain(
      '| 16 positions | onnxruntime-web | wasm | 2,000 positions/s | 1.00× | 1 |  | load average 2.0 | new `c` |',
    );
    expect(benchMarkdown(earlier, { modelDir: 'm', json: 'x', contextEvents: 32 })).toContain(
      'All figures were measured in the same run.',
    );
  });
});

describe('pretrain flags', () => {
  const flags = (f: Record<string, string | boolean>) => pretrainOptions(f as Parameters<typeof pretrainOptions>[0]);

  it('a scaling size, then single settings; the shipped size, a detached time head and the app folders by default', () => {
    const plain = flags({});
    expect(plain.config).toEqual({
      behaviorDim: 24,
      weekdayDim: 4,
      slotDim: 4,
      locationDim: 0,
      targetDim: 8,
      numLayers: 1,
      numHeads: 2,
      headHidden: 48,
      useContext: true,
      timeHead: true,
    });
    expect([plain.out, plain.fp32Out, plain.name]).toEqual([
      'public/models/behavegpt-us',
      'models/behavegpt-us-fp32',
      'behavegpt-us',
    ]);
    expect(plain.train.objective).toEqual({ name: 'ce', labelSmoothing: 0 });
    const custom = flags({
      size: 'xs',
      layers: '2',
      context: '17',
      'no-context': true,
      region: 'fr',
      objective: 'dro',
      'dro-radius': '0.05',
      'joint-time-head': true,
    });
    expect(custom.config).toMatchObject({
      behaviorDim: 8,
      numLayers: 2,
      contextLength: 17,
      useContext: false,
      timeHead: true,
    });
    expect(custom.out).toBe('public/models/behavegpt-fr');
    expect(custom.train.objective).toEqual({ name: 'dro', labelSmoothing: 0, dro: { radius: 0.05 } });
    expect(custom.train.timeHead).toEqual({ weight: 1, detached: false });
  });

  it('refuses bad values, naming the flag', () => {
    expect(() => flags({ size: 'xl' })).toThrow('--size: "xl" is not one of xs, s, m-, m');
    expect(() => flags({ layers: 'two' })).toThrow('--layers: "two" is not a number');
    expect(() => flags({ region: 'de' })).toThrow('--region: "de" is not one of us, fr, sp');
    expect(() => flags({ 'no-time-head': true, 'joint-time-head': true })).toThrow(
      '--joint-time-head and --no-time-head exclude each other',
    );
  });
});

describe('Node settings', () => {
  it('the data folder: BEHAVEGPT_DATA (relative to the project), else the shared copy next to it', () => {
    expect(resolveDataDir('/repo', undefined)).toBe(resolve('/repo/../shared/data/smartthings'));
    expect(resolveDataDir('/repo', 'data/st')).toBe('/repo/data/st');
    expect(resolveDataDir('/repo', '/abs/st')).toBe('/abs/st');
    expect(resolve(PROJECT_ROOT, 'package.json')).toBe(resolve(process.cwd(), 'package.json'));
  });
});
