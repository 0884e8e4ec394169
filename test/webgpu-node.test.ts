import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { webgpuFigures } from '../src/cli/bench-webgpu';
import { FigureLog } from '../src/node/bench/figures';
import { crossoverBatch, SWIFTSHADER_ICD } from '../src/node/bench/webgpu';
import type { WebGPUBenchResult } from '../src/node/bench/webgpu';

describe('the Node WebGPU benchmark (npm run bench:webgpu)', () => {
  it('finds the batch from which WebGPU stays faster than wasm', () => {
    expect(crossoverBatch({ 1: 9, 16: 5, 256: 2 }, { 1: 1, 16: 6, 256: 40 })).toBe(16);
    // Faster at 16 but slower again at 256: only from 1024 on does it stay faster.
    expect(crossoverBatch({ 1: 9, 16: 5, 256: 50, 1024: 10 }, { 1: 1, 16: 6, 256: 40, 1024: 90 })).toBe(1024);
    expect(crossoverBatch({ 1: 9, 16: 50 }, { 1: 1, 16: 6 })).toBeNull();
    expect(crossoverBatch(undefined, { 1: 1 })).toBeNull();
    // Batches only one side measured are left out.
    expect(crossoverBatch({ 1: 0.5, 16: 1 }, { 1: 1 })).toBe(1);
  });

  it('writes rows with engine, backend, batch and the adapter (a software one says so); a crossover only where there is one', () => {
    const result: WebGPUBenchResult = {
      adapter: { description: 'google / swiftshader', fallback: true },
      medians: {},
      times: {
        'tfjs:wasm': { 1: [2, 2], 16: [4, 4] },
        'tfjs:webgpu': { 1: [100, 100], 16: [2, 2] },
        js: { 1: [0.5, 0.5], 16: [] },
        'ort:wasm': { 1: [1, 1] },
      },
      unavailable: { 'ort:webgpu': 'Invalid argument' },
      differences: { 'tfjs:wasm': 1e-7, 'tfjs:webgpu': 1.5e-7, js: 0, 'ort:wasm': 1.2e-7 },
      crossover: { tfjs: 16, ort: null },
      training: { wasm: [5000, 5400, 5200], webgpu: [60, 64, 70] },
      trainingData: 'SmartThings US train, batch 64',
      load: { before: 2, after: 3, cores: 2 },
    };
    const figures = webgpuFigures(result, new FigureLog('2030-01-01T00:00:00.000Z', 'abc', () => {}));
    const scoring = figures.filter((f) => f.name === 'node webgpu: batched scoring');
    expect(scoring.map((f) => [f.engine, f.backend, f.batch, f.median])).toEqual([
      ['tfjs', 'wasm', 1, 500],
      ['tfjs', 'wasm', 16, 4000],
      ['tfjs', 'webgpu', 1, 10],
      ['tfjs', 'webgpu', 16, 8000],
      ['js', 'cpu (plain JS)', 1, 2000],
      ['onnxruntime-web', 'wasm', 1, 1000],
    ]);
    expect(scoring.some((f) => f.device.includes('WRONG'))).toBe(false);
    const wrong = webgpuFigures(
      { ...result, differences: { ...result.differences, 'tfjs:webgpu': 0.1 } },
      new FigureLog('2030-01-01T00:00:00.000Z', 'abc', () => {}),
    );
    expect(wrong.find((f) => f.backend === 'webgpu' && f.batch === 16)!.device).toContain(
      'WRONG RESULTS: max |Δp| vs plain JS 1.0e-1',
    );
    for (const f of figures) {
      expect(f.device).toContain('adapter google / swiftshader (software, not a GPU)');
      expect(f.load).toBe('load average 2.0 at the start, 3.0 at the end, on 2 cores');
    }
    expect(
      figures
        .filter((f) => f.name === 'node webgpu: batch from which WebGPU beats wasm')
        .map((f) => [f.engine, f.median]),
    ).toEqual([['tfjs', 16]]);
    expect(
      figures.filter((f) => f.name === 'node webgpu: fine-tuning tokens/s').map((f) => [f.backend, f.median, f.runs]),
    ).toEqual([
      ['wasm', 5200, 3],
      ['webgpu', 64, 3],
    ]);
  });

  // Without a GPU, Dawn runs on the SwiftShader Vulkan driver that Debian's Chromium ships (CI installs Chromium).
  it.skipIf(!existsSync(SWIFTSHADER_ICD))(
    'runs tfjs WebGPU through Dawn on the software adapter, with results equal to wasm and fine-tuning on both',
    async () => {
      const env = { ...process.env, VK_ICD_FILENAMES: SWIFTSHADER_ICD, LD_LIBRARY_PATH: '/usr/lib/chromium' };
      const { stdout } = await promisify(execFile)(
        'npx',
        [
          'tsx',
          'src/cli/bench-webgpu.ts',
          '--batches',
          '1,4',
          '--runs',
          '1',
          '--train-steps',
          '1',
          '--no-write',
          '--json',
        ],
        {
          env,
          maxBuffer: 64 << 20,
        },
      );
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as WebGPUBenchResult;
      expect(result.adapter.description).toMatch(/swiftshader/i);
      expect(result.adapter.fallback).toBe(true);
      for (const id of ['tfjs:wasm', 'tfjs:webgpu', 'js']) {
        expect(result.medians[id][1]).toBeGreaterThan(0);
        expect(result.medians[id][4]).toBeGreaterThan(0);
        expect(result.differences[id]).toBeLessThan(1e-5);
      }
      expect(result.training.wasm).toHaveLength(3);
      expect(result.training.webgpu).toHaveLength(3);
      for (const rate of [...result.training.wasm, ...result.training.webgpu]) expect(rate).toBeGreaterThan(0);
      expect(stdout).toContain('WebGPU beats wasm: tfjs ');
    },
    600_000,
  );
});
